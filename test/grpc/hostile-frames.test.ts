import t from 'tap'
import { connect, type IncomingHttpHeaders } from 'node:http2'
import { startH2Gateway } from '../hostile/h2'
import { dataFrame, headersFrame, rawH2, rstFrame } from '../hostile/h2-frames'
import { startH2Backend } from '../http2-upstream/support'
import { waitFor } from '../wait'
import { startGrpcBackend, echoClient, grpc } from './support'

// What a well-behaved gRPC peer never sends: a client's stream reset halfway through a
// message, and a backend's answer whose trailers carry no grpc-status.

function grpcFrame (payload: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(payload.length, 1)
  return Buffer.concat([head, payload])
}

t.test('a client resets its stream mid-message: the backend call is cancelled, nothing is charged to the server, the gateway goes on', async t => {
  const closed: Array<{ rstCode: number, bytes: number }> = []
  const backend = await startH2Backend(t, 'b', undefined, (req, res) => {
    let bytes = 0
    req.on('data', (c: Buffer) => { bytes += c.length })
    req.on('error', () => {})
    req.stream.on('error', () => {})
    req.stream.on('close', () => closed.push({ rstCode: req.stream.rstCode as number, bytes }))
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/grpc' })
      res.addTrailers({ 'grpc-status': '0' })
      res.end(grpcFrame(Buffer.from('ok')))
    })
  })
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c', retries: 1, passive: { maxFails: 1, maxEjectionPercent: 100 } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const c = await rawH2(gw.port)
  t.teardown(() => c.close())
  // A message that says 100 bytes, 10 of them sent, then RST_STREAM CANCEL.
  const head = Buffer.alloc(5)
  head.writeUInt32BE(100, 1)
  c.send(headersFrame(1, [[':method', 'POST'], [':scheme', 'http'], [':authority', 'gw.test'], [':path', '/svc/Stream'], ['content-type', 'application/grpc'], ['te', 'trailers']], false),
    dataFrame(1, head.toString('latin1') + 'x'.repeat(10), false))
  await waitFor(() => backend.hits.length === 1, { what: 'the call at the backend' })
  c.send(rstFrame(1))
  await waitFor(() => closed.length === 1, { what: 'the backend stream closed' })
  t.equal(closed[0].rstCode, 8, 'the backend saw the call cancelled (RST_STREAM CANCEL)')
  // The server was not charged: with maxFails 1, one failure would have ejected it.
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  const raw = await call(gw.port, grpcFrame(Buffer.from('next')))
  t.equal(raw.headers[':status'], 200)
  t.equal(raw.trailers['grpc-status'], '0', 'the next call reached the same server: it was not ejected')
  t.equal(backend.hits.length, 2, 'and the reset call was not sent again')
  t.ok(client, 'the gateway is still up')
})

/** A gRPC call over a fresh node:http2 connection, with its trailers. */
async function call (port: number, body: Buffer): Promise<{ headers: IncomingHttpHeaders, trailers: IncomingHttpHeaders, body: Buffer }> {
  const session = connect(`http://127.0.0.1:${port}`)
  session.on('error', () => {})
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/svc/M', 'content-type': 'application/grpc', te: 'trailers' })
      let headers: IncomingHttpHeaders = {}
      let trailers: IncomingHttpHeaders = {}
      const chunks: Buffer[] = []
      stream.on('response', h => { headers = h })
      stream.on('trailers', h => { trailers = h })
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('error', reject)
      stream.on('close', () => resolve({ headers, trailers, body: Buffer.concat(chunks) }))
      stream.end(body)
    })
  } finally {
    session.close()
  }
}

t.test('a backend\'s trailers without grpc-status: the client gets UNKNOWN with a message, not a hang', async t => {
  const backend = await startH2Backend(t, 'b', undefined, (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/grpc' })
      res.addTrailers({ 'x-note': 'no status here' })
      res.end(grpcFrame(Buffer.from([0x0a, 0x02, 0x68, 0x69])))
    })
  })
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const raw = await call(gw.port, grpcFrame(Buffer.from('x')))
  t.equal(raw.trailers['grpc-status'], String(grpc.status.UNKNOWN), 'the gateway ends the call UNKNOWN')
  t.match(raw.trailers['grpc-message'], /no grpc-status/)
  t.equal(raw.trailers['x-note'], 'no status here', 'the backend\'s own trailers still go through')
  const reply = await echoClient(t, `127.0.0.1:${gw.port}`).call('Say', 'hi')
  t.equal(reply.error?.code, grpc.status.UNKNOWN, 'a grpc-js client ends the call UNKNOWN')
  t.match(reply.error?.details, /no grpc-status/)
})

t.test('a backend that ends the answer with no trailers at all: UNKNOWN too', async t => {
  const backend = await startH2Backend(t, 'b', undefined, (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/grpc' })
      res.end(grpcFrame(Buffer.from([0x0a, 0x02, 0x68, 0x69])))
    })
  })
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const raw = await call(gw.port, grpcFrame(Buffer.from('x')))
  t.equal(raw.trailers['grpc-status'], String(grpc.status.UNKNOWN))
})

t.test('a well-behaved backend\'s OK status is untouched', async t => {
  const backend = await startGrpcBackend(t, 'ok')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const reply = await echoClient(t, `127.0.0.1:${gw.port}`).call('Say', 'hi')
  t.equal(reply.error, null)
})
