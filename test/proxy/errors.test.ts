import t from 'tap'
import { createServer } from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { startBackend, startGateway, call } from '../helper'

t.test('a refused connection is a 502 with a JSON body that names the upstream, not the address', async t => {
  const b = await startBackend(t, 'b')
  await b.kill()
  const ok = await startBackend(t, 'ok')
  const gw = await startGateway(t, {
    upstreams: { dead: { servers: [{ url: b.url }] }, live: { servers: [{ url: ok.url }] } },
    routes: [{ match: { path: '/dead/*' }, upstream: 'dead' }, { match: { path: '/*' }, upstream: 'live' }]
  })
  const res = await call(`${gw.url}/dead/x`)
  t.equal(res.status, 502)
  const body = res.json()
  t.equal(body.statusCode, 502)
  t.equal(body.error, 'Bad Gateway')
  t.equal(body.upstream, 'dead')
  t.equal(body.code, 'GH_BAD_GATEWAY')
  t.notMatch(res.body, /127\.0\.0\.1|ECONNREFUSED|at /, 'no address, no internals, no stack')
  t.equal((await call(`${gw.url}/x`)).status, 200, 'the gateway keeps serving')
})

t.test('a backend that never answers is a 504 after the response timeout', async t => {
  const b = await startBackend(t, 'slow')
  b.handle(() => { /* never answers */ })
  const gw = await startGateway(t, {
    upstreams: { u: { timeouts: { response: '200ms' }, servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const started = Date.now()
  const res = await call(`${gw.url}/x`)
  t.equal(res.status, 504)
  t.equal(res.json().code, 'GH_GATEWAY_TIMEOUT')
  t.equal(res.json().upstream, 'u')
  t.ok(Date.now() - started < 2000, 'answered after about the timeout')
})

t.test('a backend that resets the connection is a 502', async t => {
  const server = createServer(socket => socket.resetAndDestroy())
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const res = await call(`${gw.url}/x`)
  t.equal(res.status, 502)
  t.equal(res.json().upstream, 'u')
})

t.test('no server available: 503 at once with retry-after', async t => {
  const a = await startBackend(t, 'a')
  await a.kill()
  const gw = await startGateway(t, {
    upstreams: { u: { retries: 0, passive: { maxFails: 1, failTimeout: '10s', maxEjectionPercent: 100 }, servers: [{ url: a.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  t.equal((await call(`${gw.url}/x`)).status, 502, 'the first attempt finds it down')
  const started = Date.now()
  const res = await call(`${gw.url}/x`)
  t.equal(res.status, 503)
  t.equal(res.headers['retry-after'], '1')
  t.equal(res.json().code, 'GH_NO_SERVER_AVAILABLE')
  t.ok(Date.now() - started < 1000)
})

t.test('a path that tries to climb out is a 400', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const res = await call(`${gw.url}/a/..%2F..%2Fetc`)
  t.equal(res.status, 400)
  t.equal(b.hits.length, 0)
})

t.test('every server down and detected by health checks: 503 within a second, without waiting on timeouts', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: {
      u: {
        healthCheck: { type: 'tcp', interval: 50, timeout: 500, unhealthyThreshold: 1 },
        timeouts: { connect: '5s', response: '30s' },
        // Passive ejection off: here the active checks alone must take the servers out.
        passive: { maxFails: 0 },
        servers: [{ url: a.url }, { url: b.url }]
      }
    },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  t.equal((await call(`${gw.url}/x`)).status, 200)
  await a.kill()
  await b.kill()
  const servers = gw.app.gatehouse.registry.get('u')!.backends.all()
  // Bounded wait for the checks to notice, as a client would see it: by answers, not by sleeping.
  const started = Date.now()
  let res = await call(`${gw.url}/x`)
  while (res.status !== 503 && Date.now() - started < 3000) {
    t.ok(res.status === 502, `until detected, a refused attempt is a 502 (got ${res.status})`)
    await new Promise(resolve => setImmediate(resolve))
    res = await call(`${gw.url}/x`)
  }
  t.equal(res.status, 503)
  t.ok(Date.now() - started < 1000, `503 within a second of the outage (${Date.now() - started} ms)`)
  t.equal(res.headers['retry-after'], '1')
  t.ok(servers.every(s => !s.healthy), 'both marked down by the checks')
  const again = Date.now()
  t.equal((await call(`${gw.url}/x`)).status, 503)
  t.ok(Date.now() - again < 100, 'answered at once')
})
