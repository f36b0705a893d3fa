import t from 'tap'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { startBackend, startGateway, type TestBackend } from '../helper'

/** Makes a test backend accept upgrades: answers 101, then echoes every byte prefixed with its name. */
function acceptUpgrades (t: { teardown (fn: () => unknown): void }, backend: TestBackend): IncomingMessage[] {
  const seen: IncomingMessage[] = []
  const sockets = new Set<Socket>()
  // Upgraded sockets are the backend's own to close: the HTTP server no longer tracks them.
  t.teardown(() => { for (const s of sockets) s.destroy() })
  backend.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    seen.push(req)
    sockets.add(socket)
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nx-backend: ${backend.name}\r\n\r\n`)
    if (head.length > 0) socket.write(`${backend.name}:${head.toString()}`)
    socket.on('data', (d: Buffer) => socket.write(`${backend.name}:${d.toString()}`))
    socket.on('error', () => {})
  })
  return seen
}

interface Client { socket: Socket, status: number, headers: string, read (): Promise<string> }

/** A raw client: sends an upgrade request (with bytes right behind it), reads the answer's head. */
async function upgrade (port: number, path: string, headers: Record<string, string> = {}, early = ''): Promise<Client> {
  const socket = connect(port, '127.0.0.1')
  // A reset while the test tears the gateway down is expected, not a failure.
  socket.on('error', () => {})
  await once(socket, 'connect')
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  socket.write(`GET ${path} HTTP/1.1\r\nHost: chat.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n${early}`)
  let buffered = ''
  const chunks: string[] = []
  const waiting: Array<(s: string) => void> = []
  socket.setEncoding('utf8')
  let headDone: (v: void) => void = () => {}
  const gotHead = new Promise<void>(resolve => { headDone = resolve })
  let inHead = true
  socket.on('data', (d: string) => {
    if (inHead) {
      buffered += d
      const end = buffered.indexOf('\r\n\r\n')
      if (end === -1) return
      const rest = buffered.slice(end + 4)
      buffered = buffered.slice(0, end)
      inHead = false
      headDone()
      if (rest !== '') chunks.push(rest)
    } else {
      chunks.push(d)
    }
    while (waiting.length > 0 && chunks.length > 0) waiting.shift()!(chunks.shift()!)
  })
  await gotHead
  return {
    socket,
    status: Number(buffered.split(' ')[1]),
    headers: buffered.toLowerCase(),
    read: () => chunks.length > 0 ? Promise.resolve(chunks.shift()!) : new Promise(resolve => waiting.push(resolve))
  }
}

t.test('a WebSocket upgrade is routed, balanced and tunnelled both ways', async t => {
  const b = await startBackend(t, 'b')
  const seen = acceptUpgrades(t, b)
  const gw = await startGateway(t, {
    upstreams: { chat: { servers: [{ url: b.url, id: 'b' }] } },
    routes: [{ match: { path: '/ws/*' }, upstream: 'chat', stripPrefix: '/ws' }]
  })
  const client = await upgrade(gw.port, '/ws/room?id=7', { 'x-request-id': 'ws-1' }, 'early')
  t.teardown(() => { client.socket.destroy() })
  t.equal(client.status, 101)
  t.match(client.headers, /x-backend: b/)
  t.match(client.headers, /x-request-id: ws-1/)
  t.equal(await client.read(), 'b:early', 'bytes sent right behind the request reach the backend')
  client.socket.write('hello')
  t.equal(await client.read(), 'b:hello')

  t.equal(seen[0].url, '/room?id=7', 'prefix stripped, query kept')
  t.equal(seen[0].headers.host, 'chat.example.com')
  t.equal(seen[0].headers['x-forwarded-for'], '127.0.0.1')
  t.equal(seen[0].headers.upgrade, 'websocket')
  t.equal(seen[0].headers['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==')
  const server = gw.app.gatehouse.registry.get('chat')!.backends.all()[0]
  t.equal(server.inflight, 1, 'an open tunnel counts as in flight')
  client.socket.destroy()
  while (server.inflight !== 0) await new Promise(resolve => setImmediate(resolve))
  t.equal(server.inflight, 0, 'released when it closes')
})

t.test('an upgrade to a refusing server goes to the next one; a declined upgrade is answered as is', async t => {
  const dead = await startBackend(t, 'dead')
  await dead.kill()
  const good = await startBackend(t, 'good')
  acceptUpgrades(t, good)
  const plain = await startBackend(t, 'plain')
  plain.handle((req, res) => { res.statusCode = 426; res.end('no websockets here') })
  const gw = await startGateway(t, {
    upstreams: { chat: { servers: [{ url: dead.url }, { url: good.url }] }, old: { servers: [{ url: plain.url }] } },
    routes: [{ match: { path: '/old/*' }, upstream: 'old' }, { match: { path: '/*' }, upstream: 'chat' }]
  })
  const client = await upgrade(gw.port, '/x')
  t.teardown(() => { client.socket.destroy() })
  t.equal(client.status, 101)
  t.match(client.headers, /x-backend: good/)

  const declined = await upgrade(gw.port, '/old/x')
  t.teardown(() => { declined.socket.destroy() })
  t.equal(declined.status, 426)
  t.equal(await declined.read(), 'no websockets here')
})

t.test('policies apply to upgrades: over the rate limit is a plain 429', async t => {
  const b = await startBackend(t, 'b')
  const seen = acceptUpgrades(t, b)
  const gw = await startGateway(t, {
    rateLimit: { max: 1, timeWindow: '1m' },
    upstreams: { chat: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'chat' }]
  })
  const first = await upgrade(gw.port, '/x', { appid: 'ws' })
  t.teardown(() => { first.socket.destroy() })
  t.equal(first.status, 101)
  const second = await upgrade(gw.port, '/x', { appid: 'ws' })
  t.teardown(() => { second.socket.destroy() })
  t.equal(second.status, 429)
  t.match(await second.read(), /GH_RATE_LIMITED/)
  t.equal(seen.length, 1, 'the refused upgrade never reached the backend')
})

t.test('closing the gateway closes open tunnels', async t => {
  const b = await startBackend(t, 'b')
  acceptUpgrades(t, b)
  const gw = await startGateway(t, {
    upstreams: { chat: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'chat' }]
  })
  const client = await upgrade(gw.port, '/x')
  t.equal(client.status, 101)
  const closed = once(client.socket, 'close')
  await gw.app.close()
  await closed
  t.pass('the client saw its tunnel close')
})
