import t from 'tap'
import type { Socket } from 'node:net'
import type { IncomingMessage } from 'node:http'
import { startBackend, startGateway } from '../helper'
import { rawClient, within } from './support'
import { waitFor } from '../wait'

const UPGRADE = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'

async function echoBackend (t: { teardown (fn: () => unknown): void }) {
  const b = await startBackend(t, 'b')
  const sockets: Socket[] = []
  const closed: Socket[] = []
  t.teardown(() => { for (const s of sockets) s.destroy() })
  b.server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    // The HTTP server's sockets allow half-open connections: the gateway's close shows as 'end'.
    let gone = false
    const onGone = () => { if (!gone) { gone = true; closed.push(socket) } }
    socket.once('end', onGone).once('close', onGone)
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
    socket.on('data', (d: Buffer) => socket.write(d))
  })
  return { b, sockets, closed }
}

t.test('a tunnel with no bytes either way for timeouts.tunnelIdle is closed on both sides', async t => {
  const { b, sockets, closed } = await echoBackend(t)
  const gw = await startGateway(t, {
    upstreams: { u: { timeouts: { tunnelIdle: '300ms' }, servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const client = await rawClient(gw.port, UPGRADE)
  await waitFor(() => client.received().includes('101 Switching Protocols') && sockets.length === 1, { what: 'the tunnel opens' })
  client.socket.write('ping')
  await waitFor(() => client.received().endsWith('ping'), { what: 'bytes cross the tunnel' })
  await within('the idle tunnel is closed for the client', 3_000, client.closed)
  await waitFor(() => closed.length === 1, { what: 'and for the backend', timeout: 3_000 })
  t.pass('both sides closed')
})

t.test('a tunnel that carries bytes more often than tunnelIdle stays open', async t => {
  const { b, sockets, closed } = await echoBackend(t)
  const gw = await startGateway(t, {
    upstreams: { u: { timeouts: { tunnelIdle: '300ms' }, servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const client = await rawClient(gw.port, UPGRADE)
  await waitFor(() => client.received().includes('101 Switching Protocols') && sockets.length === 1, { what: 'the tunnel opens' })
  // Bytes one way (client to backend, echoed back) every 100 ms for three idle timeouts.
  for (let i = 0; i < 9; i++) {
    await new Promise(resolve => setTimeout(resolve, 100))
    client.socket.write(`m${i};`)
  }
  await waitFor(() => client.received().endsWith('m8;'), { what: 'the last message is echoed' })
  t.notOk(client.socket.destroyed, 'the client\'s tunnel is still open')
  t.equal(closed.length, 0, 'the backend\'s side is still open')
  client.socket.destroy()
})
