import t from 'tap'
import { readFileSync } from 'node:fs'
import { connect, type Http2ServerResponse, type ServerHttp2Stream } from 'node:http2'
import { makeCerts } from '../tls/certs'
import { startH2Gateway, h2Request } from '../hostile/h2'
import { startH2Backend, type H2Backend } from '../http2-upstream/support'
import { startGrpcBackend, echoClient, grpc } from './support'
import { waitFor } from '../wait'

t.test('a unary gRPC call through the gateway to an h2c backend: the answer, its status and trailer metadata', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  const ok = await client.call('Say', 'hello')
  t.equal(ok.error, null, 'the call succeeded')
  t.same(ok.value, { text: 'b1: hello' })
  t.same(ok.trailers?.get('x-backend'), ['b1'], 'the backend\'s trailer metadata arrived')
  t.same(ok.trailers?.get('x-trace-bin'), [Buffer.from([0, 1, 2, 255])], 'binary -bin metadata too, byte for byte')
  t.equal(backend.calls.length, 1)
})

t.test('a call that fails at the backend arrives with the backend\'s status and message', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  const notFound = await client.call('Fail', `${grpc.status.NOT_FOUND} no such note`)
  t.equal(notFound.error?.code, grpc.status.NOT_FOUND)
  t.equal(notFound.error?.details, 'no such note')
  const denied = await client.call('Fail', `${grpc.status.PERMISSION_DENIED} not yours: ünïcode%`)
  t.equal(denied.error?.code, grpc.status.PERMISSION_DENIED)
  t.equal(denied.error?.details, 'not yours: ünïcode%', 'a percent-encoded message comes through as sent')
  t.equal(backend.calls.length, 2, 'each call reached the backend once')
  const after = await client.call('Say', 'still there')
  t.equal(after.error, null, 'an error status is no failure of the server: the next call goes through')
})

t.test('te: trailers goes on to an HTTP/2 backend for a gRPC call only', async t => {
  const backend = await startH2Backend(t, 'raw')
  const gw = await startH2Gateway(t, {
    upstreams: { api: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })
  const grpcCall = await h2Request(gw.port, { ':method': 'POST', ':path': '/svc/M', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]))
  t.equal(grpcCall.status, 200)
  const plain = await h2Request(gw.port, { ':method': 'POST', ':path': '/plain', 'content-type': 'application/json', te: 'trailers' }, '{}')
  t.equal(plain.status, 200)
  const lookalike = await h2Request(gw.port, { ':method': 'POST', ':path': '/web', 'content-type': 'application/grpc-web', te: 'trailers' }, 'x')
  t.equal(lookalike.status, 200)
  t.same(backend.hits.map(h => [h.url, h.headers.te]), [['/svc/M', 'trailers'], ['/plain', undefined], ['/web', undefined]], 'a gRPC call keeps te: trailers; other requests lose it as hop-by-hop')
})

t.test('a unary call to a gRPC backend over TLS (protocol h2, ALPN)', async t => {
  const certs = makeCerts(t)
  const leaf = certs.leaf('backend', 'grpc.internal', ['127.0.0.1'])
  const backend = await startGrpcBackend(t, 'tls', { cert: leaf.pem(), key: readFileSync(leaf.key, 'utf8') })
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2', tls: { ca: certs.ca } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  const ok = await client.call('Say', 'over tls')
  t.equal(ok.error, null)
  t.same(ok.value, { text: 'tls: over tls' })
  t.same(ok.trailers?.get('x-backend'), ['tls'])
  const failed = await client.call('Fail', `${grpc.status.ALREADY_EXISTS} taken`)
  t.equal(failed.error?.code, grpc.status.ALREADY_EXISTS)
  t.equal(failed.error?.details, 'taken')
})

/**
 * A backend that holds every call until `together` are in, answers those at once (they ran at
 * the same time), then answers each later call as it ends; it records the most calls each of
 * its connections carried at once.
 */
async function heldBackend (t: { teardown (fn: () => unknown): void }, together: number, maxConcurrentStreams?: number): Promise<{ backend: H2Backend, most: () => number[] }> {
  const waiting: Http2ServerResponse[] = []
  const running = new Map<object, number>()
  const most = new Map<object, number>()
  let hold = together
  const answer = (r: Http2ServerResponse): void => {
    r.writeHead(200, { 'content-type': 'application/grpc' })
    r.addTrailers({ 'grpc-status': '0' })
    r.end(Buffer.from([0, 0, 0, 0, 0]))
  }
  const backend = await startH2Backend(t, 'b', undefined, (req, res) => {
    const session = req.stream.session as object
    running.set(session, (running.get(session) ?? 0) + 1)
    most.set(session, Math.max(most.get(session) ?? 0, running.get(session) ?? 0))
    res.on('close', () => running.set(session, (running.get(session) ?? 1) - 1))
    req.resume()
    req.on('end', () => {
      if (req.url.endsWith('/warm')) return answer(res)
      waiting.push(res)
      if (waiting.length < hold) return
      hold = 1
      for (const r of waiting.splice(0)) answer(r)
    })
  }, maxConcurrentStreams === undefined ? undefined : { maxConcurrentStreams })
  return { backend, most: () => [...most.values()] }
}

t.test('gRPC calls in flight at once share one HTTP/2 connection', async t => {
  const { backend, most } = await heldBackend(t, 5)
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c', connections: 3 } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  // One call first: the connection is up, as on a gateway that has been running.
  const warm = await h2Request(gw.port, { ':method': 'POST', ':path': '/warm', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]))
  t.equal(warm.status, 200)
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  // The backend answers none of the five before all five are in: they ran at once.
  const replies = await Promise.all([1, 2, 3, 4, 5].map(async i => await client.call('Say', `x${i}`)))
  t.same(replies.map(r => r.error?.code ?? grpc.status.OK), [0, 0, 0, 0, 0], 'every call succeeded')
  t.equal(backend.connections(), 1, 'five calls at once on one connection (connections: 3 allowed more)')
  t.same(most(), [5], 'its five streams ran at the same time')
})

t.test('gRPC calls share a connection up to the server\'s SETTINGS_MAX_CONCURRENT_STREAMS, then take another, up to the group\'s connections; more wait their turn', async t => {
  const { backend, most } = await heldBackend(t, 4, 2)
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c', connections: 2 } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const warm = await h2Request(gw.port, { ':method': 'POST', ':path': '/warm', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]))
  t.equal(warm.status, 200)
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  // Four run at once (two connections of two streams); the fifth waits for one of them.
  const replies = await Promise.all([1, 2, 3, 4, 5].map(async i => await client.call('Say', `x${i}`)))
  t.same(replies.map(r => r.error?.code ?? grpc.status.OK), [0, 0, 0, 0, 0], 'every call succeeded')
  t.equal(backend.connections(), 2, 'two connections: the server allows two streams on each, the group two connections')
  t.same(most(), [2, 2], 'no connection carried more streams than the server allows')
})

t.test('calls whose clients stop reading hold their own streams only: a call beside them on the shared connection goes through', async t => {
  const MESSAGE = 1024 * 1024
  const stalled: ServerHttp2Stream[] = []
  const backend = await startH2Backend(t, 'b', undefined, (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/grpc' })
      if (req.url === '/stall') {
        // One 1 MiB message its client never reads: it waits on the HTTP/2 windows in between.
        stalled.push(res.stream)
        res.write(Buffer.concat([Buffer.from([0, 0, 0x10, 0, 0]), Buffer.alloc(MESSAGE - 5)]))
        return
      }
      res.addTrailers({ 'grpc-status': '0' })
      res.end(Buffer.from([0, 0, 0, 0, 0]))
    })
  })
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c', connections: 3 } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  t.equal((await h2Request(gw.port, { ':method': 'POST', ':path': '/warm', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]))).status, 200)
  // Three clients, each on a connection of its own, that read nothing of their answers.
  for (let i = 0; i < 3; i++) {
    const session = connect(`http://127.0.0.1:${gw.port}`)
    session.on('error', () => {})
    t.teardown(() => session.destroy())
    const stream = session.request({ ':method': 'POST', ':path': '/stall', 'content-type': 'application/grpc', te: 'trailers' })
    stream.on('error', () => {})
    stream.pause()
    stream.end(Buffer.from([0, 0, 0, 0, 0]))
  }
  // More than the connection's own window (undici's 512 KiB) has reached the gateway unread by
  // any client: the call beside them passes only because data a stream has not read counts
  // against that stream's window alone (Node gives the connection's window back on receipt).
  await waitFor(() => stalled.length === 3 && (stalled[0].session?.socket.bytesWritten ?? 0) >= 3 * 256 * 1024,
    { what: 'the three answers to wait on their clients', timeout: 5000 })
  t.pass(`the backend wrote ${stalled[0].session?.socket.bytesWritten ?? 0} bytes on the connection, none of them read by a client`)
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  const reply = await client.call('Say', 'beside them')
  t.equal(reply.error?.code ?? grpc.status.OK, grpc.status.OK, 'the call beside them succeeded')
  t.equal(backend.connections(), 1, 'on the same connection as the three')
})
