import t from 'tap'
import { startBackend, startGateway } from '../helper'
import { rawClient, within, type RawClient } from './support'

const route = (url: string) => ({
  upstreams: { u: { servers: [{ url }] } },
  routes: [{ match: { path: '/*' }, upstream: 'u' }]
})

t.test('past maxConnections a new connection is closed at once; below it connections are served', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, { ...route(b.url), limits: { maxConnections: 3 } })
  const open: RawClient[] = []
  // Each of the three is served, so each is surely accepted and counted before the next one.
  for (let i = 0; i < 3; i++) {
    const c = await rawClient(gw.port, 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n')
    open.push(c)
    t.teardown(() => c.socket.destroy())
    await within(`connection ${i + 1} is answered`, 5_000, new Promise<void>(resolve => {
      const check = () => { if (c.received().includes('"backend":"b"')) resolve(); else c.socket.once('data', check) }
      check()
    }))
  }
  const extra = await rawClient(gw.port, 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n')
  const got = await within('the fourth connection is closed', 5_000, extra.closed)
  t.equal(got, '', 'it got no answer at all')

  open[0].socket.destroy()
  await open[0].closed
  const again = await rawClient(gw.port, 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const answer = await within('a connection below the limit again is served', 5_000, again.closed)
  t.match(answer, /^HTTP\/1\.1 200 /)
})

t.test('a connection that sends no request head within headersTimeout gets 408 and is closed', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, { ...route(b.url), limits: { headersTimeout: '300ms' } })

  // Silent: connects and sends nothing. The default (10 s, checked every second) would outlast the bound.
  const idle = await rawClient(gw.port)
  const idleGot = await within('the idle connection is closed', 3_000, idle.closed)
  t.match(idleGot, /^HTTP\/1\.1 408 /, 'Node answers 408 before closing')

  // Trickling: one byte of the head every 50 ms, so the socket is never idle yet the head never ends.
  const slow = await rawClient(gw.port)
  const head = 'GET /x HTTP/1.1\r\nHost: x\r\nX-Padding: ' + 'a'.repeat(200)
  let i = 0
  const timer = setInterval(() => { if (i < head.length && !slow.socket.destroyed) slow.socket.write(head[i++]) }, 50)
  t.teardown(() => clearInterval(timer))
  const slowGot = await within('the trickling connection is closed', 3_000, slow.closed)
  clearInterval(timer)
  t.match(slowGot, /^HTTP\/1\.1 408 /)
  t.ok(i < head.length, 'cut before the head was complete')
  t.equal(b.hits.length, 0, 'nothing reached the backend')
})

t.test('an idle keep-alive connection is closed after keepAliveTimeout', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, { ...route(b.url), limits: { keepAliveTimeout: '300ms' } })
  const c = await rawClient(gw.port, 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n')
  const got = await within('the idle keep-alive connection is closed', 3_000, c.closed)
  t.match(got, /^HTTP\/1\.1 200 /, 'the request was answered first')
  t.match(got, /keep-alive: timeout=\d+/i)
})

t.test('the limits are set on the server Gatehouse is registered on, defaults included', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, route(b.url))
  const server = gw.app.server as typeof gw.app.server & { connectionsCheckingInterval: number }
  t.equal(server.maxConnections, 10_000)
  t.equal(server.headersTimeout, 10_000)
  t.equal(server.keepAliveTimeout, 72_000)
  t.equal(server.connectionsCheckingInterval, 1_000, 'headers checked every second, not every 30 s')
})
