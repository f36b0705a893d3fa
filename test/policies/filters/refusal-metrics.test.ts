import t from 'tap'
import { startBackend, call } from '../../helper'
import { startFilterGateway } from './support'

t.test('refusals are counted in /metrics by upstream and reason, and shown in /upstreams', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    admin: { port: 0 },
    upstreams: { api: { servers: [{ url: b.url }] }, web: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/ip' }, upstream: 'api', filters: { deny: ['127.0.0.1'] } },
      { match: { path: '/m' }, upstream: 'web', filters: { methods: ['GET'] } },
      { match: { path: '/h' }, upstream: 'web', filters: { requireHeaders: { 'x-k': true } } }
    ]
  })
  await call(`${gw.url}/ip`)
  await call(`${gw.url}/ip`)
  await call(`${gw.url}/m`, { method: 'DELETE' })
  await call(`${gw.url}/h`)
  const metrics = (await call(`${gw.app.gatehouse.adminUrl}/metrics`)).body
  t.match(metrics, /gatehouse_refused_total\{upstream="api",reason="ip"\} 2/)
  t.match(metrics, /gatehouse_refused_total\{upstream="web",reason="method"\} 1/)
  t.match(metrics, /gatehouse_refused_total\{upstream="web",reason="header"\} 1/)
  t.match(metrics, /gatehouse_requests_total\{upstream="api",route="0",status="4xx"\} 2/, 'and answered, by status class, as before')
  const groups = (await call(`${gw.app.gatehouse.adminUrl}/upstreams`)).json()
  t.match(JSON.stringify(groups), /"refused":\{"ip":2\}/)
  t.equal(b.hits.length, 0)
})
