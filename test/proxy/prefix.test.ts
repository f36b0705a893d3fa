import t from 'tap'
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import gatehouse from '../../app'
import { startBackend, call } from '../helper'

// Registered under a prefix, the routes are matched under it and the backend gets the path
// less the prefix, then less the route's stripPrefix (README, "As a plugin").
t.test('register(gatehouse, { prefix }): the prefix and the route\'s stripPrefix both come off', async t => {
  const api = await startBackend(t, 'api')
  const web = await startBackend(t, 'web')
  const app = Fastify({ logger: false })
  app.get('/own', async () => ({ served: 'by the host app' }))
  await app.register(gatehouse, {
    prefix: '/gw',
    upstreams: { api: { servers: [{ url: api.url }] }, web: { servers: [{ url: web.url }] } },
    routes: [
      { match: { path: '/api/*' }, upstream: 'api', stripPrefix: '/api' },
      { match: { path: '/*' }, upstream: 'web' }
    ]
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const hi = await call(`${base}/gw/api/hi?x=1`)
  t.equal(hi.status, 200)
  t.equal(hi.headers['x-backend'], 'api')
  t.same(api.hits.map(h => h.url), ['/hi?x=1'], 'prefix and stripPrefix removed, query kept')

  await call(`${base}/gw/api/`)
  t.equal(api.hits[1].url, '/', 'nothing left after the prefixes forwards as /')

  const other = await call(`${base}/gw/pages/a`)
  t.equal(other.headers['x-backend'], 'web')
  t.same(web.hits.map(h => h.url), ['/pages/a'], 'a route without stripPrefix loses the host prefix only')

  const outside = await call(`${base}/api/hi`)
  t.equal(outside.status, 404, 'outside the prefix nothing is proxied')
  t.equal(api.hits.length, 2)

  const own = await call(`${base}/own`)
  t.same(own.json(), { served: 'by the host app' })
})
