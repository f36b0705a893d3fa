import t from 'tap'
import { startBackend, call } from '../../helper'
import { startFilterGateway } from './support'

t.test('filters.requireHeaders: missing or empty gets 401; present goes through', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', filters: { requireHeaders: { 'X-Api-Key': true, 'x-optional': false } } }]
  })
  const missing = await call(`${gw.url}/x`)
  t.equal(missing.status, 401)
  t.match(missing.json(), { code: 'GH_HEADER_REQUIRED', message: 'Header x-api-key is required on this route' })
  t.equal((await call(`${gw.url}/x`, { headers: { 'x-api-key': '' } })).status, 401, 'empty counts as missing')
  t.equal(b.hits.length, 0)
  t.equal((await call(`${gw.url}/x`, { headers: { 'x-api-key': 'k' } })).status, 200)
  t.equal(b.hits[0].headers['x-api-key'], 'k', 'the header is passed on')
})
