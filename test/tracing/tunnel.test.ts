import t from 'tap'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { startBackend, startGateway } from '../helper'
import { waitFor } from '../wait'
import { CLIENT, parseTraceparent, SERVER, startCollector, type ReceivedSpan } from './support'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'

t.test('a WebSocket tunnel: the upgrade carries the attempt\'s context, and its spans end when the tunnel closes', async t => {
  const collector = await startCollector(t)
  const b = await startBackend(t, 'ws')
  const upgrades: IncomingMessage[] = []
  const sockets: Socket[] = []
  t.teardown(() => { for (const s of sockets) s.destroy() })
  b.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    upgrades.push(req)
    sockets.push(socket)
    socket.on('error', () => {})
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
  })
  const gw = await startGateway(t, {
    upstreams: { chat: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/chat' }, upstream: 'chat' }],
    tracing: { endpoint: collector.url, batchDelay: 10 }
  })
  const client = connect(gw.port, '127.0.0.1')
  client.on('error', () => {})
  await once(client, 'connect')
  client.write(`GET /chat HTTP/1.1\r\nHost: chat.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\ntraceparent: 00-${TRACE_ID}-${CLIENT_SPAN}-01\r\n\r\n`)
  let head = ''
  client.setEncoding('utf8')
  client.on('data', (d: string) => { head += d })
  await waitFor(() => head.includes('\r\n\r\n'), { what: 'the 101' })
  t.match(head, /^HTTP\/1\.1 101 /)
  t.equal(collector.trace(TRACE_ID).length, 0, 'no span while the tunnel is open')

  client.destroy()
  await waitFor(() => collector.trace(TRACE_ID).length >= 2, { what: 'the tunnel\'s spans' })
  const spans = collector.trace(TRACE_ID)
  const server = spans.find(s => s.kind === SERVER) as ReceivedSpan
  const attempt = spans.find(s => s.kind === CLIENT) as ReceivedSpan
  t.equal(server.parentSpanId, CLIENT_SPAN)
  t.equal(attempt.parentSpanId, server.spanId)
  t.equal(server.attributes['http.response.status_code'], 101)
  t.notOk('gatehouse.client_gone' in server.attributes, 'a tunnel closed by either side is no client gone mid-answer')
  t.match(attempt.attributes, { 'gatehouse.attempt.outcome': 'answered', 'http.response.status_code': 101 })
  t.equal(parseTraceparent(upgrades[0].headers.traceparent)?.spanId, attempt.spanId, 'the backend\'s upgrade request carried the attempt span\'s context')
})
