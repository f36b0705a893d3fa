import t from 'tap'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { startGateway } from '../helper'
import { rawRequest } from './raw'

/**
 * A raw backend that accepts any upgrade: it answers 101 to a request with an Upgrade
 * header, then takes every further byte on that connection as a tunnelled request and
 * answers it "tunnelled", the way an h2c server would carry requests past the gateway.
 */
async function upgradingBackend (t: { teardown (fn: () => unknown): void }): Promise<{ url: string, heads: string[], tunnelled: string[] }> {
  const heads: string[] = []
  const tunnelled: string[] = []
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('error', () => {})
    let upgraded = false
    let buffer = ''
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) {
        tunnelled.push(chunk.toString('latin1'))
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\ntunnelled')
        return
      }
      buffer += chunk.toString('latin1')
      const end = buffer.indexOf('\r\n\r\n')
      if (end === -1) return
      const head = buffer.slice(0, end)
      heads.push(head)
      const rest = buffer.slice(end + 4)
      buffer = ''
      if (/\r\nupgrade:/i.test(head)) {
        upgraded = true
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')
        if (rest !== '') tunnelled.push(rest)
      } else {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nplain')
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise(resolve => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, heads, tunnelled }
}

// What a request smuggled on a tunnel would reach: the gateway routes only /public/*.
const SMUGGLED = 'GET /private HTTP/1.1\r\nHost: gw.test\r\n\r\n'

t.test('an upgrade other than WebSocket is never tunnelled: it goes on as a plain request, without its upgrade headers', async t => {
  const backend = await upgradingBackend(t)
  const gw = await startGateway(t, {
    upstreams: { app: { servers: [{ url: backend.url }] } },
    routes: [{ match: { path: '/public/*' }, upstream: 'app' }]
  })
  const cases: Array<[string, string[]]> = [
    ['h2c', ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']],
    ['h2c, HTTP2-Settings not named in Connection', ['Connection: Upgrade', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']],
    ['an unknown token', ['Connection: Upgrade', 'Upgrade: foo']],
    ['websocket among others', ['Connection: keep-alive, Upgrade', 'Upgrade: h2c, websocket']]
  ]
  for (const [name, lines] of cases) {
    const before = backend.heads.length
    const answer = await rawRequest(gw.port, `GET /public/x HTTP/1.1\r\nHost: gw.test\r\n${lines.join('\r\n')}\r\n\r\n${SMUGGLED}`)
    t.notMatch(answer.text, /^HTTP\/1\.1 101/m, `${name}: no 101 reaches the client`)
    t.equal(answer.statuses[0], 200, `${name}: answered as a plain request`)
    t.match(answer.text, /\r\n\r\nplain/, `${name}: the backend's plain answer`)
    t.equal(backend.heads.length, before + 1, `${name}: one request reached the backend`)
    const head = backend.heads[backend.heads.length - 1] ?? ''
    t.notMatch(head, /\r\nupgrade:/i, `${name}: the backend never sees Upgrade`)
    t.notMatch(head, /\r\nhttp2-settings:/i, `${name}: nor HTTP2-Settings`)
    t.notMatch(head, /\r\nconnection:[^\r]*(upgrade|http2-settings)/i, `${name}: nor their names in Connection`)
    t.notMatch(answer.text, /tunnelled/, `${name}: nothing was carried on a tunnel`)
  }
  t.same(backend.tunnelled, [], 'the backend never opened a tunnel')
  t.notOk(backend.heads.some(h => h.startsWith('GET /private')), 'the request behind it never reached the backend')
})

t.test('an upgrade other than WebSocket that carries a body is refused: its body would go unread', async t => {
  const backend = await upgradingBackend(t)
  const gw = await startGateway(t, {
    upstreams: { app: { servers: [{ url: backend.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'app' }]
  })
  for (const framing of ['Content-Length: 5\r\n\r\nhello', 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n']) {
    const answer = await rawRequest(gw.port, `POST /x HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n${framing}${SMUGGLED}`)
    t.same(answer.statuses, [400], framing.split(':')[0])
    t.match(answer.text, /"code":"GH_BAD_REQUEST"/)
    t.ok(answer.closed, 'the connection is closed')
  }
  t.same(backend.heads, [], 'no backend touched')
})
