import t from 'tap'
import { startBackend, call } from '../../helper'
import { startFilterGateway } from './support'

t.test('filters.methods: another method gets 405 with Allow, and reaches no backend', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', filters: { methods: ['GET', 'POST'] } }]
  })
  t.equal((await call(`${gw.url}/x`)).status, 200)
  t.equal((await call(`${gw.url}/x`, { method: 'POST', body: 'hi' })).status, 200)
  const res = await call(`${gw.url}/x`, { method: 'DELETE' })
  t.equal(res.status, 405)
  t.equal(res.headers.allow, 'GET, POST')
  t.match(res.json(), { statusCode: 405, error: 'Method Not Allowed', code: 'GH_METHOD_NOT_ALLOWED', message: 'Method DELETE is not allowed on this route' })
  t.equal(b.hits.length, 2)
})

t.test('a top-level filters.methods is the default; a route overrides it', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    filters: { methods: ['GET'] },
    routes: [
      { match: { path: '/ro' }, upstream: 'api' },
      { match: { path: '/rw' }, upstream: 'api', filters: { methods: ['GET', 'PUT'] } }
    ]
  })
  t.equal((await call(`${gw.url}/ro`, { method: 'PUT', body: 'x' })).status, 405)
  t.equal((await call(`${gw.url}/rw`, { method: 'PUT', body: 'x' })).status, 200)
})
