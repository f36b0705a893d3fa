import t from 'tap'
import { startH2Gateway, h2Request } from '../hostile/h2'
import { startH2Backend } from '../http2-upstream/support'
import { waitFor } from '../wait'
import { startGrpcBackend, rawEchoClient, grpc } from './support'

t.test('a grpc-js call past its deadline: DEADLINE_EXCEEDED, and the backend sees its call cancelled', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = rawEchoClient(t, `127.0.0.1:${gw.port}`)
  const call = client.Repeat({ text: 'n', hold: true }, new grpc.Metadata(), { deadline: new Date(Date.now() + 300) })
  call.on('error', () => {})
  // Not events.once: it rejects on the 'error' that comes first.
  const status = await new Promise<grpc.StatusObject>(resolve => call.on('status', resolve))
  t.equal(status.code, grpc.status.DEADLINE_EXCEEDED)
  await waitFor(() => backend.cancelled() === 1, { what: 'the backend to see its call cancelled' })
})

t.test('a backend that ignores grpc-timeout: the gateway answers DEADLINE_EXCEEDED and cancels the backend call', { timeout: 5000 }, async t => {
  let closed = 0
  const backend = await startH2Backend(t, 'mute', undefined, (req) => {
    // Never answers, and takes no notice of the deadline.
    req.resume()
    req.stream.on('close', () => { closed++ })
  })
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c', timeouts: { response: 30000 } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const answer = await h2Request(gw.port, { ':method': 'POST', ':path': '/gatehouse.test.Echo/Say', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m' }, Buffer.from([0, 0, 0, 0, 0]))
  t.equal(answer.status, 200)
  t.equal(answer.headers['grpc-status'], '4', 'DEADLINE_EXCEEDED from the gateway')
  t.equal(backend.hits[0].headers['grpc-timeout'], '200m', 'the backend was told the deadline')
  await waitFor(() => closed === 1, { what: 'the backend stream to be cancelled' })
})

t.test('a malformed grpc-timeout is no deadline: the call goes through', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const answer = await h2Request(gw.port, { ':method': 'POST', ':path': '/gatehouse.test.Echo/Say', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '123456789m' }, Buffer.from([0, 0, 0, 0, 0]))
  t.equal(answer.status, 200)
  t.not(answer.headers['grpc-status'], '4')
})
