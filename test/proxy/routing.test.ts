import t from 'tap'
import { startBackend, startGateway, call, spread, count } from '../helper'

t.test('routes by path, host, wildcard host and method, strips the prefix', async t => {
  const api = await startBackend(t, 'api')
  const web = await startBackend(t, 'web')
  const sub = await startBackend(t, 'sub')
  const gw = await startGateway(t, {
    upstreams: {
      api: { servers: [{ url: api.url }] },
      web: { servers: [{ url: web.url }] },
      sub: { servers: [{ url: sub.url }] }
    },
    routes: [
      { match: { host: 'api.example.com', path: '/v1/*' }, upstream: 'api', stripPrefix: '/v1' },
      { match: { host: '*.example.com', path: '/*', methods: ['GET', 'HEAD'] }, upstream: 'sub' },
      { match: { path: '/*' }, upstream: 'web' }
    ]
  })
  let res = await call(`${gw.url}/v1/users?x=1`, { headers: { host: 'API.example.com:8080' } })
  t.equal(res.status, 200)
  t.equal(res.headers['x-backend'], 'api')
  t.equal(api.hits[0].url, '/users?x=1', 'prefix stripped, query kept')

  res = await call(`${gw.url}/page`, { headers: { host: 'www.example.com' } })
  t.equal(res.headers['x-backend'], 'sub', 'wildcard host')
  res = await call(`${gw.url}/page`, { headers: { host: 'a.b.example.com' } })
  t.equal(res.headers['x-backend'], 'sub', 'wildcard matches deeper names')

  res = await call(`${gw.url}/page`, { method: 'POST', headers: { host: 'www.example.com' }, body: 'x' })
  t.equal(res.headers['x-backend'], 'web', 'a method the route does not list falls through to the next route')

  res = await call(`${gw.url}/page`, { headers: { host: 'example.org' } })
  t.equal(res.headers['x-backend'], 'web')
})

t.test('a request that matches no route gets a JSON 404 and reaches no backend', async t => {
  const web = await startBackend(t, 'web')
  const gw = await startGateway(t, {
    upstreams: { web: { servers: [{ url: web.url }] } },
    routes: [{ match: { path: '/app/*' }, upstream: 'web' }]
  })
  const res = await call(`${gw.url}/other`)
  t.equal(res.status, 404)
  t.equal(res.json().statusCode, 404)
  t.equal(web.hits.length, 0)
})

t.test('round robin spreads evenly through the real gateway', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const c = await startBackend(t, 'c')
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: a.url }, { url: b.url }, { url: c.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  t.same(count(await spread(`${gw.url}/`, 30)), { a: 10, b: 10, c: 10 })
})
