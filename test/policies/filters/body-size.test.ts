import t from 'tap'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { startBackend, call, answerBodySize, type TestBackend } from '../../helper'
import { waitFor } from '../../wait'
import { accessLines, startFilterGateway } from './support'

interface Seen { bytes: number, ended: boolean, closed: boolean }

/** A backend that records, per request, how many body bytes came and whether the body ended or was cut. */
function recordBodies (b: TestBackend): Seen[] {
  const seen: Seen[] = []
  b.handle((req, res) => {
    const s: Seen = { bytes: 0, ended: false, closed: false }
    seen.push(s)
    req.on('data', (c: Buffer) => { s.bytes += c.length })
    req.on('end', () => { s.ended = true; res.end('complete') })
    req.on('close', () => { s.closed = true })
  })
  return seen
}

/** A raw client: the request head now, the body later, in the test's own steps. */
async function rawClient (port: number): Promise<{ socket: Socket, text: () => string, closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.on('error', () => {})
  let text = ''
  let closed = false
  socket.on('data', c => { text += c.toString('latin1') })
  socket.on('close', () => { closed = true })
  return { socket, text: () => text, closed: () => closed }
}

const chunk = (n: number) => `${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`

t.test('a declared Content-Length over the limit gets 413 at once, before the body is read', async t => {
  const b = await startBackend(t, 'b')
  b.handle(answerBodySize)
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', filters: { maxBodySize: '1KB' } }]
  })
  t.equal((await call(`${gw.url}/up`, { method: 'POST', body: 'x'.repeat(1024) })).body, '1024', 'at the limit: through')
  // Only the head is sent: the answer must come without the body.
  const c = await rawClient(gw.port)
  c.socket.write('POST /up HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1025\r\n\r\n')
  await waitFor(() => c.closed(), { what: 'the gateway to answer and close' })
  t.match(c.text(), /^HTTP\/1\.1 413 /)
  t.match(c.text(), /"code":"GH_BODY_TOO_LARGE"/)
  t.match(c.text(), /connection: close/i)
  t.equal(b.hits.length, 1, 'the backend never saw it')
  await waitFor(() => accessLines(gw.logs).length === 2, { what: 'two access lines' })
  t.match(accessLines(gw.logs)[1], { msg: 'refused', reason: 'body-size', status: 413 })
})

t.test('a chunked body growing past the limit while streamed: 413, the upload cut, the backend request aborted', async t => {
  const b = await startBackend(t, 'b')
  const seen = recordBodies(b)
  const gw = await startFilterGateway(t, {
    retryBodyLimit: 0,
    limits: { requestBuffer: 0 },
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', filters: { maxBodySize: 64 * 1024 } }]
  })
  const c = await rawClient(gw.port)
  c.socket.write('POST /up HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk(40_000))
  await waitFor(() => seen.length === 1 && seen[0].bytes === 40_000, { what: 'the backend to get the first 40 000 bytes' })
  c.socket.write(chunk(40_000))
  await waitFor(() => c.closed(), { what: 'the gateway to answer and close' })
  t.match(c.text(), /^HTTP\/1\.1 413 /)
  t.match(c.text(), /"code":"GH_BODY_TOO_LARGE"/)
  await waitFor(() => seen[0].closed, { what: 'the backend request to close' })
  t.equal(seen[0].ended, false, 'the backend saw an aborted request, never a complete one')
  t.ok(seen[0].bytes <= 64 * 1024, 'and no more than the limit')
  await waitFor(() => accessLines(gw.logs).length === 1, { what: 'the access line' })
  t.match(accessLines(gw.logs)[0], { msg: 'refused', reason: 'body-size', status: 413, upstream: 'api' })
  const upstream = gw.app.gatehouse.registry.get('api')!
  t.equal(upstream.backends.all()[0].failedAttempts, 0, 'not booked against the server')
})

t.test('a chunked body past the limit in one packet, before any backend read it: 413, backend untouched or aborted', async t => {
  const b = await startBackend(t, 'b')
  const seen = recordBodies(b)
  const gw = await startFilterGateway(t, {
    retryBodyLimit: 0,
    limits: { requestBuffer: 0 },
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', filters: { maxBodySize: 100 } }]
  })
  const c = await rawClient(gw.port)
  c.socket.write('POST /up HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk(5000) + '0\r\n\r\n')
  await waitFor(() => c.closed(), { what: 'the gateway to answer and close' })
  t.match(c.text(), /^HTTP\/1\.1 413 /)
  await waitFor(() => seen.every(s => s.closed), { what: 'any backend request to close' })
  t.ok(seen.every(s => !s.ended), 'never a complete request at the backend')
})

t.test('a chunked body past the limit while held for retries: 413, the backend never sees it', async t => {
  const b = await startBackend(t, 'b')
  const seen = recordBodies(b)
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', filters: { maxBodySize: 1000 } }]
  })
  const c = await rawClient(gw.port)
  c.socket.write('POST /up HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk(600))
  c.socket.write(chunk(600))
  await waitFor(() => c.closed(), { what: 'the gateway to answer and close' })
  t.match(c.text(), /^HTTP\/1\.1 413 /)
  t.equal(seen.length, 0)
  const ok = await call(`${gw.url}/up`, { method: 'POST', body: 'x'.repeat(900) })
  t.equal(ok.body, 'complete', 'a body under the limit still goes through')
})
