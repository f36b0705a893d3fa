import t from 'tap'
import { readFileSync } from 'node:fs'
import type { Http2ServerResponse } from 'node:http2'
import { makeCerts } from '../tls/certs'
import { startH2Gateway, h2Request } from '../hostile/h2'
import { startH2Backend } from '../http2-upstream/support'
import { startGrpcBackend, echoClient, grpc } from './support'

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

t.test('gRPC calls in flight at once take a connection each, up to the group\'s connections; more wait their turn', async t => {
  const waiting: Http2ServerResponse[] = []
  let hold = 3
  const backend = await startH2Backend(t, 'b', undefined, (req, res) => {
    req.resume()
    req.on('end', () => {
      waiting.push(res)
      // The first three are answered together, once all three are in: they ran at once.
      if (waiting.length < hold) return
      hold = 1
      for (const r of waiting.splice(0)) {
        r.writeHead(200, { 'content-type': 'application/grpc' })
        r.addTrailers({ 'grpc-status': '0' })
        r.end(Buffer.from([0, 0, 0, 0, 0]))
      }
    })
  })
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c', connections: 3 } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  const replies = await Promise.all([1, 2, 3, 4, 5].map(async i => await client.call('Say', `x${i}`)))
  t.same(replies.map(r => r.error?.code ?? grpc.status.OK), [0, 0, 0, 0, 0], 'every call succeeded')
  t.equal(backend.connections(), 3, 'three connections for five calls: one per call in flight, up to connections: 3')
})
