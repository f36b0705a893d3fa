import t from 'tap'
import { startBackend, startGateway, call } from '../helper'

t.test('as a plugin: the host app keeps its own routes, hooks, body parsing and error handling', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }, app => {
    app.addHook('onRequest', async (request, reply) => { reply.header('x-host-hook', 'ran') })
    app.post('/own/echo', async request => ({ parsed: request.body }))
    app.get('/own/fail', async () => { throw new Error('host failure') })
  })
  const own = await call(`${gw.url}/own/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
  t.same(own.json(), { parsed: { a: 1 } }, 'the host route still parses JSON itself')
  t.equal(own.headers['x-host-hook'], 'ran')
  t.equal(b.hits.length, 0, 'and the host route is not proxied')

  const fail = await call(`${gw.url}/own/fail`)
  t.equal(fail.status, 500)
  t.equal(fail.json().message, 'host failure', "the host's errors keep Fastify's default handler, not Gatehouse's")

  const proxied = await call(`${gw.url}/elsewhere`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })
  t.equal(proxied.headers['x-backend'], 'b')
  t.equal(proxied.headers['x-host-hook'], 'ran', "the host's hooks run on proxied requests too")
  t.equal(typeof gw.app.gatehouse.reload, 'function', 'app.gatehouse is visible to the host')
})

t.test("as a plugin: a host's onSend hook that replaces the body still gets the proxied answer (the answer is not written past it)", async t => {
  const b = await startBackend(t, 'b')
  b.handle((req, res) => { res.setHeader('content-type', 'text/plain'); res.end('from the backend') })
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }, app => {
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.url !== '/wrapped') return payload
      reply.header('x-host-onsend', 'ran').removeHeader('content-length')
      return 'wrapped by the host'
    })
  })
  const wrapped = await call(`${gw.url}/wrapped`)
  t.equal(wrapped.status, 200)
  t.equal(wrapped.body, 'wrapped by the host', "the host's hook replaced the body")
  t.equal(wrapped.headers['x-host-onsend'], 'ran')
  t.equal(b.hits.length, 1, 'the request was proxied')
  const plain = await call(`${gw.url}/plain`)
  t.equal(plain.body, 'from the backend')
  t.match(plain.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'and the gateway\'s own headers are there')
})
