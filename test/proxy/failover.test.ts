import t from 'tap'
import { createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { startBackend, startGateway, call, count, answerBodySize } from '../helper'

/** A TCP server that reads the request and then resets the connection: the request may have taken effect. */
async function resetAfterRead (t: { teardown (fn: () => unknown): void }) {
  const server = createServer((socket: Socket) => {
    stats.connections++
    let seen = ''
    socket.on('data', (c: Buffer) => {
      seen += c.toString('latin1')
      if (seen.includes('\r\n\r\n')) {
        stats.requests++
        socket.resetAndDestroy()
      }
    })
    socket.on('error', () => {})
  })
  const stats = { connections: 0, requests: 0, url: '' }
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  stats.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => server.close())
  return stats
}

t.test('a POST whose backend read it and reset is not sent to a second backend', async t => {
  const bad = await resetAfterRead(t)
  const good = await startBackend(t, 'good')
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: bad.url }, { url: good.url, backup: true }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const res = await call(`${gw.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' })
  t.equal(res.status, 502)
  t.equal(bad.requests, 1)
  t.equal(good.hits.length, 0, 'never replayed')
})

t.test('an idempotent PUT and a GET that were reset are retried on another server', async t => {
  const bad = await resetAfterRead(t)
  const good = await startBackend(t, 'good')
  const gw = await startGateway(t, {
    upstreams: { u: { passive: { maxFails: 0 }, servers: [{ url: bad.url }, { url: good.url, backup: true }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  let res = await call(`${gw.url}/doc`, { method: 'PUT', body: 'v2' })
  t.equal(res.status, 200)
  res = await call(`${gw.url}/doc`)
  t.equal(res.status, 200)
  t.equal(bad.requests, 2)
  t.same(good.hits.map(h => h.method), ['PUT', 'GET'])
})

t.test('a PUT whose body is larger than the held limit is not retried once sent', async t => {
  const bad = await resetAfterRead(t)
  const good = await startBackend(t, 'good')
  const gw = await startGateway(t, {
    retryBodyLimit: 1024,
    upstreams: { u: { servers: [{ url: bad.url }, { url: good.url, backup: true }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const res = await call(`${gw.url}/doc`, { method: 'PUT', body: Readable.from([Buffer.alloc(4096, 1)]) })
  t.equal(res.status, 502)
  t.equal(good.hits.length, 0)
})

t.test('any method is retried when the connection was refused, since nothing was sent', async t => {
  const dead = await startBackend(t, 'dead')
  await dead.kill()
  const good = await startBackend(t, 'good')
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: dead.url }, { url: good.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  for (let i = 0; i < 4; i++) {
    const res = await call(`${gw.url}/orders`, { method: 'POST', body: `{"i":${i}}`, headers: { 'content-type': 'application/json' } })
    t.equal(res.status, 200)
  }
  t.equal(good.hits.length, 4)
})

t.test('passive ejection: a failing server is tried at most maxFails times within failTimeout', async t => {
  const bad = await resetAfterRead(t)
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { u: { passive: { maxFails: 3, failTimeout: '5s' }, servers: [{ url: bad.url }, { url: a.url }, { url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  for (let i = 0; i < 30; i++) t.equal((await call(`${gw.url}/x`)).status, 200)
  t.equal(bad.requests, 3, 'three failures, then out')
  t.equal(a.hits.length + b.hits.length, 30)
})

t.test('after failTimeout one trial request decides; a failed trial ejects again', async t => {
  const bad = await resetAfterRead(t)
  const a = await startBackend(t, 'a')
  const gw = await startGateway(t, {
    upstreams: { u: { passive: { maxFails: 1, failTimeout: '150ms' }, servers: [{ url: bad.url }, { url: a.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const upstream = gw.app.gatehouse.registry.get('u')!
  const server = upstream.backends.all()[0]
  t.equal((await call(`${gw.url}/x`)).status, 200)
  t.equal(bad.requests, 1)
  t.ok(server.ejectedUntil > Date.now(), 'ejected')
  for (let i = 0; i < 5; i++) await call(`${gw.url}/x`)
  t.equal(bad.requests, 1, 'no request while ejected')
  await new Promise(resolve => setTimeout(resolve, server.ejectedUntil - Date.now() + 5))
  for (let i = 0; i < 5; i++) t.equal((await call(`${gw.url}/x`)).status, 200)
  t.equal(bad.requests, 2, 'exactly one trial, which failed and ejected it again')
})

t.test('a killed backend under a steady stream of GETs: no failed response reaches a client', async t => {
  const servers = await Promise.all(['a', 'b', 'c'].map(n => startBackend(t, n)))
  const gw = await startGateway(t, {
    upstreams: { u: { servers: servers.map(s => ({ url: s.url })) } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const statuses: number[] = []
  const answeredBy: string[] = []
  let killed = false
  const worker = async () => {
    for (let i = 0; i < 60; i++) {
      const res = await call(`${gw.url}/item/${i}`)
      statuses.push(res.status)
      answeredBy.push(String(res.headers['x-backend']))
      if (!killed && statuses.length >= 100) {
        killed = true
        await servers[1].kill()
      }
    }
  }
  await Promise.all(Array.from({ length: 6 }, worker))
  t.equal(statuses.length, 360)
  t.same(count(statuses.map(String)), { 200: 360 }, 'every response was a 200')
  const afterKill = answeredBy.slice(120)
  t.notOk(afterKill.includes('b'), 'the killed server answered nothing once it was down')
})

t.test('a large streamed upload to a refusing server goes to another one whole', async t => {
  const dead = await startBackend(t, 'dead')
  await dead.kill()
  const good = await startBackend(t, 'good')
  good.handle(answerBodySize)
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: dead.url }, { url: good.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const size = 4 * 1024 * 1024
  const res = await call(`${gw.url}/upload`, { method: 'POST', body: Readable.from([Buffer.alloc(size / 2, 1), Buffer.alloc(size / 2, 2)]) })
  t.equal(res.status, 200)
  t.equal(res.body, String(size), 'every byte arrived at the second server')
})
