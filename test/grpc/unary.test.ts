import t from 'tap'
import { startH2Gateway } from '../hostile/h2'
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
  t.same(backend.calls[0].get('te'), [], 'te is no metadata (grpc-js checks it and refuses a call without it)')
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
