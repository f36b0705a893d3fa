import t from 'tap'
import { startH2Gateway, h2Request } from '../hostile/h2'
import { deadPort } from '../http2-upstream/support'
import { echoClient, grpc } from './support'

t.test('a gRPC call the gateway cannot place gets a gRPC status, never a JSON body', async t => {
  const down = await deadPort()
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: `http://127.0.0.1:${down}`, id: 'down' }], protocol: 'h2c', retries: 0, passive: { maxFails: 1, maxEjectionPercent: 100 } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  const refused = await client.call('Say', 'hello')
  t.equal(refused.error?.code, grpc.status.UNAVAILABLE, 'the server refused the connection: UNAVAILABLE')
  t.equal(refused.error?.details, 'Upstream "grpc" failed to answer')

  const none = await client.call('Say', 'hello')
  t.equal(none.error?.code, grpc.status.UNAVAILABLE, 'no server ready (the one there is ejected): UNAVAILABLE')
  t.equal(none.error?.details, 'No server of upstream "grpc" is available')

  // On the wire: HTTP 200, the status in the headers of a response with no message (trailers-only).
  const raw = await h2Request(gw.port, { ':method': 'POST', ':path': '/gatehouse.test.Echo/Say', 'content-type': 'application/grpc+proto', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]))
  t.equal(raw.status, 200)
  t.equal(raw.headers['grpc-status'], '14')
  t.equal(raw.headers['content-type'], 'application/grpc')
  t.equal(raw.body.length, 0, 'no body: no JSON')
})

t.test('a request that is not gRPC still gets the JSON error', async t => {
  const down = await deadPort()
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: `http://127.0.0.1:${down}` }], protocol: 'h2c', retries: 0 } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const raw = await h2Request(gw.port, { ':method': 'GET', ':path': '/x' })
  t.equal(raw.status, 502)
  t.equal(JSON.parse(raw.body.toString()).code, 'GH_BAD_GATEWAY')
  t.equal(raw.headers['grpc-status'], undefined)
})
