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
  t.same(missing.json(), { error: 'Not Found', paths: ['/health', '/upstreams', '/metrics', '/upstreams/:name/servers/:id', '/config', '/routes', '/', '/events'] })

  const options = await call(`${admin}/nope`, { method: 'OPTIONS' })
  t.equal(options.status, 405)
  t.equal(options.headers.allow, 'GET, HEAD, POST, PATCH, DELETE')
  t.same(options.json(), { error: 'Method Not Allowed' })
  // Without admin.token every write is refused, whatever the path: without a token nobody
  // could be told apart from whoever else reaches the port.
  for (const [method, path] of [['POST', '/health'], ['DELETE', '/upstreams']]) {
    const res = await call(`${admin}${path}`, { method })
    t.equal(res.status, 403, `${method} ${path}`)
    t.equal(res.json().code, 'GH_ADMIN_READ_ONLY')
  }
  t.equal(a.hits.length, 0, 'nothing on the admin port reaches a backend')
})
