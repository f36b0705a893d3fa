import t from 'tap'
import { startBackend, startGateway, call } from '../helper'

t.test('the admin API answers HEAD, unknown paths and other methods as JSON', async t => {
  const a = await startBackend(t, 'a')
  const gw = await startGateway(t, {
    admin: { port: 0 },
    upstreams: { u: { servers: [{ url: a.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const admin = gw.app.gatehouse.adminUrl as string

  const health = await call(`${admin}/health?probe=1`)
  t.same(health.json(), { status: 'ok' }, 'the query string is ignored')
  t.match(health.headers['content-type'], /^application\/json/)

  const head = await call(`${admin}/metrics`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.body, '')
  t.match(head.headers['content-type'], /^text\/plain; version=/)

  const missing = await call(`${admin}/nope`)
  t.equal(missing.status, 404)
  t.same(missing.json(), { error: 'Not Found', paths: ['/health', '/upstreams', '/metrics'] })

  for (const [method, path] of [['POST', '/health'], ['DELETE', '/upstreams'], ['OPTIONS', '/nope']]) {
    const res = await call(`${admin}${path}`, { method })
    t.equal(res.status, 405, `${method} ${path}`)
    t.equal(res.headers.allow, 'GET, HEAD')
    t.same(res.json(), { error: 'Method Not Allowed' })
  }
  t.equal(a.hits.length, 0, 'nothing on the admin port reaches a backend')
})
