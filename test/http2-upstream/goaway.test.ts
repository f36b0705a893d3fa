import t from 'tap'
import { connect, constants, createServer, type Http2ServerResponse } from 'node:http2'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { startGateway, call } from '../helper'
import { startH2Gateway, h2Request } from '../hostile/h2'
import { waitFor } from '../wait'
import { startH2Backend } from './support'
import { startGrpcBackend, echoClient } from '../grpc/support'

// A gRPC frame (uncompressed, RFC-less gRPC over HTTP/2 framing) of `payload`.
function grpcFrame (payload: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(payload.length, 1)
  return Buffer.concat([head, payload])
}

t.test('a graceful GOAWAY mid-load: the streams it lets finish answer, the one above last-stream-id and new requests go to a fresh connection', async t => {
  const held: Array<{ id: number, res: Http2ServerResponse }> = []
  let drained = false
  const backend = await startH2Backend(t, 'b', undefined, (req, res) => {
    req.resume()
    if (req.url === '/warm' || drained) return res.end(`conn ${backend.hits[backend.hits.length - 1].connection} ${req.url}`)
    req.stream.on('error', () => {})
    held.push({ id: req.stream.id as number, res })
    if (held.length < 3) return
    drained = true
    // The backend drains: it will finish the first two streams and never started the third.
    const [a, b] = held
    req.stream.session?.goaway(constants.NGHTTP2_NO_ERROR, b.id)
    setImmediate(() => {
      a.res.end(`conn 1 ${a.id} finished`)
      b.res.end(`conn 1 ${b.id} finished`)
    })
  })
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: backend.url }], protocol: 'h2c', retries: 1 } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })
  t.equal((await call(`${gw.url}/warm`)).status, 200)
  const replies = await Promise.all(['/r1', '/r2', '/r3'].map(async p => await call(`${gw.url}${p}`)))
  t.same(replies.map(r => r.status), [200, 200, 200], 'no request in flight failed')
  const bodies = replies.map(r => r.body)
  t.equal(bodies.filter(b => b.endsWith('finished')).length, 2, 'the two streams within last-stream-id finished on the old connection')
  t.equal(bodies.filter(b => b.startsWith('conn 2')).length, 1, 'the stream above it was sent again, on a new connection')
  const after = await call(`${gw.url}/after`)
  t.equal(after.status, 200)
  t.match(after.body, /^conn 2 /, 'a new request after the GOAWAY goes to the new connection')
  t.equal(backend.connections(), 2)
})

t.test('REFUSED_STREAM for a gRPC call: retried on the other server though the call is a POST', async t => {
  const refusing = await startH2Backend(t, 'refusing', undefined, req => {
    req.stream.on('error', () => {})
    req.stream.close(constants.NGHTTP2_REFUSED_STREAM)
  })
  const other = await startGrpcBackend(t, 'other')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: refusing.url, id: 'refusing' }, { url: other.url, id: 'other' }], protocol: 'h2c', balance: 'round-robin', retries: 1, passive: { maxFails: 1, maxEjectionPercent: 100 } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  for (const text of ['one', 'two', 'three']) {
    const reply = await client.call('Say', text)
    t.equal(reply.error, null, `call ${text} succeeded`)
    t.same(reply.value, { text: `other: ${text}` })
  }
  t.equal(other.calls.length, 3, 'every call reached the other server once')
  t.ok(refusing.hits.length >= 2, 'the refusing server was not ejected: refusing a stream is no failure of it')
})

t.test('REFUSED_STREAM from the only server: the call is sent again to it, whole', async t => {
  let refused = 0
  const bodies: Buffer[] = []
  const backend = await startH2Backend(t, 'only', undefined, (req, res) => {
    req.stream.on('error', () => {})
    if (refused++ === 0) return req.stream.close(constants.NGHTTP2_REFUSED_STREAM)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks))
      res.writeHead(200, { 'content-type': 'application/grpc' })
      res.addTrailers({ 'grpc-status': '0' })
      res.end(grpcFrame(Buffer.from('ok')))
    })
  })
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c', retries: 1 } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const message = grpcFrame(Buffer.from('hello'))
  const answer = await h2Request(gw.port, { ':method': 'POST', ':path': '/svc/M', 'content-type': 'application/grpc', te: 'trailers' }, message)
  t.equal(answer.status, 200)
  t.equal(answer.headers['grpc-status'], undefined, 'not a gateway error')
  t.equal(Buffer.from(answer.body, 'latin1').subarray(5).toString(), 'ok')
  await waitFor(() => bodies.length === 1, { what: 'the second stream' })
  t.same(bodies[0], message, 'the call went again with its whole message')
  t.equal(backend.hits.length, 2)
})

t.test('GOAWAY toward gRPC calls: one in flight within last-stream-id finishes; one sent as a new connection is drained goes again on the next', async t => {
  const answer = (res: Http2ServerResponse, text: string): void => {
    res.writeHead(200, { 'content-type': 'application/grpc' })
    res.addTrailers({ 'grpc-status': '0' })
    res.end(grpcFrame(Buffer.from(text)))
  }
  let sessions = 0
  let calls = 0
  const server = createServer((req, res) => {
    req.stream.on('error', () => {})
    req.resume()
    const session = req.stream.session
    const id = req.stream.id as number
    req.on('end', () => {
      // The first call: the backend drains its connection, keeping this stream, and answers it.
      if (++calls === 1) {
        session?.goaway(constants.NGHTTP2_NO_ERROR, id)
        setImmediate(() => answer(res, 'finished on the old connection'))
        return
      }
      answer(res, `answered on connection ${sessions}`)
    })
  })
  server.on('session', s => {
    s.on('error', () => {})
    // The second connection is drained as soon as it is accepted: last-stream-id 0, so the call
    // the gateway sent on it was never started.
    if (++sessions === 2) s.goaway(constants.NGHTTP2_NO_ERROR, 0)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url }], protocol: 'h2c', retries: 1 } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const first = await grpcCall(gw.port, grpcFrame(Buffer.from('one')))
  t.equal(first.trailers['grpc-status'], '0')
  t.equal(first.body.subarray(5).toString(), 'finished on the old connection')
  const second = await grpcCall(gw.port, grpcFrame(Buffer.from('two')))
  t.equal(second.trailers['grpc-status'], '0', 'the call the backend never started was sent again, and answered')
  t.equal(second.body.subarray(5).toString(), 'answered on connection 3')
  t.equal(calls, 2, 'the backend started two calls: the drained connection\'s was not one of them')
})

/** A gRPC call over a fresh node:http2 connection to the gateway, with its trailers. */
async function grpcCall (port: number, body: Buffer): Promise<{ trailers: Record<string, unknown>, body: Buffer }> {
  const session = connect(`http://127.0.0.1:${port}`)
  session.on('error', () => {})
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/svc/M', 'content-type': 'application/grpc', te: 'trailers' })
      let trailers: Record<string, unknown> = {}
      const chunks: Buffer[] = []
      stream.on('trailers', h => { trailers = h })
      stream.on('response', h => { if (h['grpc-status'] !== undefined) trailers = h })
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('error', reject)
      stream.on('close', () => resolve({ trailers, body: Buffer.concat(chunks) }))
      stream.end(body)
    })
  } finally {
    session.close()
  }
}
