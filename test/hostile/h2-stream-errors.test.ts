import t, { type Test } from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { startH2Gateway } from './h2'
import { dataFrame, errorCode, FRAME, headersFrame, rawH2 } from './h2-frames'
import { waitFor } from '../wait'
import type { GatehouseConfig } from '../../lib/config'

// A malformed request is a stream error (RFC 9113 §8.1.1): it must not take the other
// requests of its connection with it, which, behind a CDN or load balancer that multiplexes
// many users on one connection, are other users' requests. A connection error must still
// close the connection.

const PROTOCOL_ERROR = 1

async function gateway (t: Test): Promise<{ port: number, bodies: string[] }> {
  const bodies: string[] = []
  const backend = createServer((req: IncomingMessage, res) => {
    let body = ''
    req.setEncoding('latin1')
    req.on('data', (c: string) => { body += c })
    req.on('end', () => { bodies.push(body); res.end('ok') })
    req.on('error', () => {})
  })
  backend.listen(0, '127.0.0.1')
  await once(backend, 'listening')
  t.teardown(() => { backend.closeAllConnections(); backend.close() })
  const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`
  const { port } = await startH2Gateway(t, {
    upstreams: { app: { servers: [{ url }], passive: { maxFails: 0 } } },
    routes: [{ match: { path: '/*' }, upstream: 'app' }]
  } as GatehouseConfig)
  return { port, bodies }
}

const post = (id: number, length: number) =>
  headersFrame(id, [[':method', 'POST'], [':scheme', 'http'], [':authority', 'gw.test'], [':path', `/up/${id}`], ['content-length', String(length)]], false)

t.test('DATA past content-length resets its stream only: an upload beside it on the connection completes', async t => {
  const { port, bodies } = await gateway(t)
  const c = await rawH2(port)
  t.teardown(() => c.close())
  // 1: a good upload, half sent. 3: content-length 2, 5 bytes. Then the rest of 1.
  c.send(post(1, 10), dataFrame(1, 'hello', false))
  c.send(post(3, 2), dataFrame(3, 'hello', true))
  await waitFor(() => c.received.some(f => f.stream === 3 && f.type === FRAME.RST_STREAM) || c.received.some(f => f.type === FRAME.GOAWAY), { what: 'stream 3 reset' })
  c.send(dataFrame(1, 'world', true))
  await waitFor(() => c.received.some(f => f.stream === 1 && f.type === FRAME.HEADERS) || c.received.some(f => f.type === FRAME.GOAWAY), { what: 'an answer on stream 1' })
  t.notOk(c.received.some(f => f.type === FRAME.GOAWAY), 'no GOAWAY')
  const reset = c.received.find(f => f.stream === 3 && f.type === FRAME.RST_STREAM)
  t.equal(reset === undefined ? undefined : errorCode(reset), PROTOCOL_ERROR, 'stream 3: RST_STREAM PROTOCOL_ERROR')
  t.equal(c.received.find(f => f.stream === 1 && f.type === FRAME.HEADERS)?.payload[0], 0x88, 'stream 1: 200 (HPACK static index 8)')
  t.same(bodies, ['helloworld'], 'the backend got the good upload whole, and nothing of the malformed one')
})

t.test('a connection error still gets GOAWAY PROTOCOL_ERROR and the connection is closed', async t => {
  const { port } = await gateway(t)
  for (const [what, frames] of [
    // A client opens odd stream ids only (RFC 9113 §5.1.1).
    ['HEADERS on an even stream id', [headersFrame(2, [[':method', 'GET'], [':scheme', 'http'], [':authority', 'gw.test'], [':path', '/']], true)]],
    // DATA belongs to a stream (RFC 9113 §6.1).
    ['DATA on stream 0', [dataFrame(0, 'x', false)]]
  ] as const) {
    const c = await rawH2(port)
    t.teardown(() => c.close())
    let closed = false
    c.socket.once('close', () => { closed = true })
    c.send(...frames)
    await waitFor(() => closed, { timeout: 3000, what: `the connection closed after ${what}` })
    const goaway = c.received.find(f => f.type === FRAME.GOAWAY)
    t.ok(goaway, `${what}: GOAWAY`)
    t.equal(goaway === undefined ? undefined : errorCode(goaway), PROTOCOL_ERROR, `${what}: PROTOCOL_ERROR`)
  }
})

t.test('a connection that keeps sending malformed uploads is still closed: each is an invalid frame', async t => {
  const { port, bodies } = await gateway(t)
  const c = await rawH2(port)
  t.teardown(() => c.close())
  let closed = false
  c.socket.once('close', () => { closed = true })
  // Past Node's maxSessionInvalidFrames (1000 on this server without Gatehouse's server options).
  const frames: Buffer[] = []
  for (let id = 1; id < 2 * 1200; id += 2) frames.push(post(id, 2), dataFrame(id, 'hello', true))
  c.send(...frames)
  await waitFor(() => closed, { what: 'the connection closed' })
  t.ok(c.received.some(f => f.type === FRAME.GOAWAY), 'GOAWAY')
  // Node lets 1001 through (count++ > max) and nghttp2 has reset the one that trips it.
  t.ok(c.received.filter(f => f.type === FRAME.RST_STREAM).length <= 1002, 'no more resets than the invalid-frame bound allows')
  t.same(bodies, [], 'nothing reached the backend')
})
