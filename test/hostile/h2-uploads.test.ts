import t, { type Test } from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { h2Request, startH2Gateway } from './h2'
import { dataFrame, errorCode, FRAME, headersFrame, rawH2, rstFrame } from './h2-frames'
import { waitFor } from '../wait'
import type { GatehouseConfig } from '../../lib/config'

// RFC 9113 §8.1.1: an intermediary MUST NOT forward a malformed request. Over HTTP/2 an
// upload the client resets before END_STREAM, or whose DATA disagrees with content-length,
// must never reach a backend as a complete request; one with neither content-type nor
// content-length must reach it whole.

interface Received { method: string, url: string, headers: IncomingMessage['headers'], body: string, complete: boolean }

async function recorder (t: Test): Promise<{ url: string, received: Received[] }> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '', complete: false }
    received.push(r)
    req.setEncoding('latin1')
    req.on('data', (c: string) => { r.body += c })
    req.on('end', () => { r.complete = true; res.end('ok') })
    req.on('error', () => {})
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
}

// Held (the default, received whole before forwarding) and streamed (from the first byte).
const modes: Array<[string, Partial<GatehouseConfig>]> = [
  ['held', {}],
  ['streamed', { retryBodyLimit: 0, limits: { requestBuffer: 0 } } as Partial<GatehouseConfig>]
]

for (const [mode, extra] of modes) {
  t.test(`${mode}: a reset upload and a wrong content-length never reach the backend complete`, async t => {
    const backend = await recorder(t)
    const { port } = await startH2Gateway(t, {
      upstreams: { app: { servers: [{ url: backend.url }], passive: { maxFails: 0 } } },
      routes: [{ match: { path: '/*' }, upstream: 'app' }],
      ...extra
    } as GatehouseConfig)
    const c = await rawH2(port)
    t.teardown(() => c.close())
    const head = (id: number, extraHeaders: Array<[string, string]> = []) =>
      headersFrame(id, [[':method', 'POST'], [':scheme', 'http'], [':authority', 'gw.test'], [':path', `/up/${id}`], ...extraHeaders], false)

    // 1: DATA, then RST_STREAM without END_STREAM.
    c.send(head(1), dataFrame(1, 'hello', false))
    if (mode === 'streamed') await waitFor(() => backend.received.some(r => r.body === 'hello'), { what: 'the first bytes at the backend' })
    c.send(rstFrame(1))
    // 3: content-length 10, 5 bytes, END_STREAM. 5: content-length 2, 5 bytes.
    c.send(head(3, [['content-length', '10']]), dataFrame(3, 'hello', false))
    if (mode === 'streamed') await waitFor(() => backend.received.some(r => r.url === '/up/3'), { what: 'request 3 at the backend' })
    c.send(dataFrame(3, '', true))
    c.send(head(5, [['content-length', '2']]), dataFrame(5, 'hello', true))
    // Streams 3 and 5 are reset by the server (nghttp2 checks content-length) or answered 400.
    await waitFor(() => [3, 5].every(id => c.received.some(f => f.stream === id && (f.type === FRAME.RST_STREAM || f.type === FRAME.HEADERS))), { what: 'streams 3 and 5 ended' })
    // The backend requests that were started have ended by now, aborted.
    if (mode === 'streamed') await waitFor(() => backend.received.every(r => r.complete || (r.headers['content-length'] === undefined ? true : r.body.length < Number(r.headers['content-length']))), { what: 'backend requests ended' })
    await new Promise(resolve => setImmediate(resolve))
    t.same(backend.received.filter(r => r.complete).map(r => r.url), [], 'no backend request completed')
    if (mode === 'held') t.same(backend.received, [], 'held: nothing was forwarded at all')
    else t.ok(backend.received.length >= 1, 'streamed: the backend saw the uploads begin')

    // Each was a stream error (RFC 9113 §8.1.1), not a connection error: a reset is
    // PROTOCOL_ERROR, no GOAWAY came, and the gateway still serves on the same connection
    // (HPACK static index 8 is :status 200) and on a new one.
    for (const f of c.received.filter(f => f.type === FRAME.RST_STREAM && (f.stream === 3 || f.stream === 5))) {
      t.equal(errorCode(f), 1, `stream ${f.stream} reset with PROTOCOL_ERROR`)
    }
    t.notOk(c.received.some(f => f.type === FRAME.GOAWAY), 'no GOAWAY: the connection goes on')
    c.send(headersFrame(7, [[':method', 'GET'], [':scheme', 'http'], [':authority', 'gw.test'], [':path', '/after']], true))
    await waitFor(() => c.received.some(f => f.stream === 7 && f.type === FRAME.HEADERS), { what: 'an answer on stream 7' })
    t.equal(c.received.find(f => f.stream === 7 && f.type === FRAME.HEADERS)?.payload[0], 0x88, 'the same connection serves: 200')
    t.equal((await h2Request(port, { ':path': '/after' })).status, 200)
  })

  t.test(`${mode}: a POST with neither content-type nor content-length is forwarded whole`, async t => {
    const backend = await recorder(t)
    const { port } = await startH2Gateway(t, {
      upstreams: { app: { servers: [{ url: backend.url }] } },
      routes: [{ match: { path: '/*' }, upstream: 'app' }],
      ...extra
    } as GatehouseConfig)
    const answer = await h2Request(port, { ':method': 'POST', ':path': '/p' }, 'hello world')
    t.equal(answer.status, 200, answer.body)
    t.equal(backend.received.length, 1)
    t.equal(backend.received[0].body, 'hello world')
    t.ok(backend.received[0].complete)
    t.not(backend.received[0].headers['content-length'], '0', 'not announced as empty')
  })
}
