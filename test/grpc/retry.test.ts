import t from 'tap'
import { constants } from 'node:http2'
import { startH2Gateway, h2Request } from '../hostile/h2'
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

t.test('a connection that dies with several calls in flight on it: each fails UNAVAILABLE, none is sent again', async t => {
  const held: Array<{ destroy: () => void }> = []
  const dying = await startH2Backend(t, 'dying', undefined, (req, res) => {
    req.resume()
    if (req.url === '/warm') return res.end()
    // Three calls read on one connection, then the connection goes (a crashed backend).
    held.push(req.stream.session as { destroy: () => void })
    if (held.length === 3) held[0].destroy()
  })
  const other = await startGrpcBackend(t, 'other')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: dying.url, id: 'dying', weight: 1000 }, { url: other.url, id: 'other', weight: 1 }], protocol: 'h2c', retries: 2, passive: { maxFails: 100 } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  // One request first: the connection is up, as on a gateway that has been running.
  t.equal((await h2Request(gw.port, { ':method': 'POST', ':path': '/warm', 'content-type': 'application/grpc' }, Buffer.from([0, 0, 0, 0, 0]))).status, 200)
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  const replies = await Promise.all(['one', 'two', 'three'].map(async text => await client.call('Say', text)))
  t.same(replies.map(r => r.error?.code), [grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE], 'every call failed UNAVAILABLE')
  t.equal(dying.hits.length, 4, 'the dying server got each call once (and the first request)')
  t.equal(new Set(dying.hits.map(h => h.connection)).size, 1, 'all on one connection')
  t.equal(dying.connections(), 1, 'no second connection carried a call again')
  t.equal(other.calls.length, 0, 'no other server got a call the dying one may have acted on')
})
