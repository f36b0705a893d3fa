import t from 'tap'
import { createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { call, startLoggedGateway } from '../helper'

/**
 * A backend on a raw socket that resets the first `drops` connections it gets (a backend
 * restarting, as far as the gateway can tell), then answers every request with 200.
 */
async function flakyBackend (t: { teardown (fn: () => unknown): void }, name: string, drops: number) {
  const stats = { name, url: '', connections: 0, answered: 0, drops }
  const server = createServer((socket: Socket) => {
    stats.connections++
    socket.on('error', () => {})
    if (stats.connections <= stats.drops) {
      socket.resetAndDestroy()
      return
    }
    let seen = ''
    socket.on('data', (c: Buffer) => {
      seen += c.toString('latin1')
      while (seen.includes('\r\n\r\n')) {
        seen = seen.slice(seen.indexOf('\r\n\r\n') + 4)
        stats.answered++
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${name.length}\r\nx-backend: ${name}\r\n\r\n${name}`)
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  stats.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => server.close())
  return stats
}

t.test('a one-server group whose backend dropped 6 connections in a row is used again as soon as it answers: no 503', async t => {
  const only = await flakyBackend(t, 'only', 6)
  // The default passive settings (maxFails 3 within 10 s): before the limit, the third drop ejected it for 10 s.
  const gw = await startLoggedGateway(t, {
    upstreams: { u: { servers: [{ url: only.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  for (let i = 0; i < 6; i++) {
    const res = await call(`${gw.url}/x`)
    t.equal(res.status, 502, `drop ${i + 1}: a failed backend is a 502, not a 503 for a server taken out`)
  }
  t.equal(only.connections, 6, 'each request reached the backend')
  const res = await call(`${gw.url}/x`)
  t.equal(res.status, 200, 'the next request reaches the backend, back again')
  t.equal(res.body, 'only')
  t.equal(gw.count(/server ejected/), 0, 'never ejected')
})

t.test('maxEjectionPercent 50 of a 4-server group ejects at most 2; the other two keep taking requests', async t => {
  const names = ['a', 'b', 'c', 'd']
  // Every server fails for a while: the limit, not the servers' health, decides how many go out.
  const backends = await Promise.all(names.map(async n => await flakyBackend(t, n, 1000)))
  const gw = await startLoggedGateway(t, {
    upstreams: {
      u: {
        retries: 0,
        passive: { maxFails: 1, failTimeout: '1m', maxEjectionPercent: 50 },
        servers: backends.map(b => ({ url: b.url, id: b.name }))
      }
    },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  for (let i = 0; i < 12; i++) {
    const res = await call(`${gw.url}/x`)
    t.equal(res.status, 502, 'each attempt failed on a server still in service: never a 503')
  }
  const ejected = gw.logs.filter(l => l.msg === 'server ejected after failed attempts').map(l => l.server)
  t.equal(ejected.length, 2, 'two ejections: 50% of 4')
  t.equal(new Set(ejected).size, 2, 'of two different servers')
  const inService = backends.filter(b => !ejected.includes(b.name))
  const before = inService.map(b => b.connections)

  // The two left in service recover: requests reach them, and none goes to the ejected two.
  for (const b of backends) b.drops = 0
  for (let i = 0; i < 4; i++) t.equal((await call(`${gw.url}/x`)).status, 200)
  t.same(inService.map(b => b.answered).reduce((a, b) => a + b), 4, 'every request went to the two in service')
  t.ok(inService.every((b, i) => b.connections >= before[i]))
})

t.test('maxEjectionPercent 100 keeps nginx\'s behaviour: a lone server may be ejected', async t => {
  const only = await flakyBackend(t, 'only', 1000)
  const gw = await startLoggedGateway(t, {
    upstreams: { u: { passive: { maxFails: 1, failTimeout: '1m', maxEjectionPercent: 100 }, servers: [{ url: only.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  t.equal((await call(`${gw.url}/x`)).status, 502)
  t.equal((await call(`${gw.url}/x`)).status, 503, 'ejected: no server left')
  t.equal(only.connections, 1)
})
