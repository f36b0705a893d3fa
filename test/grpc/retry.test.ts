import t from 'tap'
import { constants } from 'node:http2'
import { startH2Gateway } from '../hostile/h2'
import { startH2Backend, deadPort } from '../http2-upstream/support'
import { startGrpcBackend, echoClient, grpc } from './support'

t.test('a server that refuses the connection: the call goes to the other server', async t => {
  const down = await deadPort()
  const backend = await startGrpcBackend(t, 'up')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: `http://127.0.0.1:${down}`, id: 'down' }, { url: backend.url, id: 'up' }], protocol: 'h2c', balance: 'round-robin', retries: 1, passive: { maxFails: 100 } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  // Round robin: one of the two calls is first sent to the refusing server.
  for (const text of ['one', 'two']) {
    const reply = await client.call('Say', text)
    t.equal(reply.error, null, `call ${text} succeeded`)
    t.same(reply.value, { text: `up: ${text}` })
  }
  t.equal(backend.calls.length, 2, 'both calls reached the server that is up, once each')
})

t.test('a server that resets the call after reading it: UNAVAILABLE, and no other server gets the call', async t => {
  const reset = await startH2Backend(t, 'reset', undefined, req => {
    // Reads the call's first bytes, then resets the stream: the call may have been acted on.
    req.once('data', () => req.stream.close(constants.NGHTTP2_INTERNAL_ERROR))
    req.resume()
  })
  const other = await startGrpcBackend(t, 'other')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: reset.url, id: 'reset' }, { url: other.url, id: 'other' }], protocol: 'h2c', balance: 'round-robin', retries: 2, passive: { maxFails: 100 } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  // Round robin: one call goes first to each server; the one the reset server took fails.
  const replies = [await client.call('Say', 'one'), await client.call('Say', 'two')]
  t.same(replies.map(r => r.error?.code ?? grpc.status.OK).sort(), [grpc.status.OK, grpc.status.UNAVAILABLE], 'one call failed UNAVAILABLE, one succeeded')
  t.equal(reset.hits.length, 1, 'the resetting server got one call')
  t.equal(other.calls.length, 1, 'the other server got only its own call: the reset one was not sent again')
})
