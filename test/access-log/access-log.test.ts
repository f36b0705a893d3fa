import t from 'tap'
import { startBackend, startLoggedGateway, call } from '../helper'

t.test('one log line per proxied request, with upstream, server id, status and time', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startLoggedGateway(t, {
    rateLimit: { max: 1, timeWindow: '1m' },
    upstreams: { api: { servers: [{ url: b.url, id: 'api-1' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })
  const lines = gw.logs
  const before = lines.length
  const url = `${gw.url}/x`
  const res = await call(url)
  t.equal(res.status, 200)
  const during = lines.slice(before)
  t.equal(during.length, 1, 'exactly one line')
  t.match(during[0], { msg: 'proxied', upstream: 'api', server: 'api-1', status: 200, responseTime: Number, requestId: res.headers['x-request-id'] })

  const refused = await call(url)
  t.equal(refused.status, 429)
  const next = lines.slice(before + 1)
  t.equal(next.length, 1, 'a refused request gets its one line too')
  t.match(next[0], { msg: 'refused', upstream: 'api', server: undefined, status: 429 })
})
