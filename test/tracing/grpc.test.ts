import t from 'tap'
import { startH2Gateway, h2Request } from '../hostile/h2'
import { startH2Backend } from '../http2-upstream/support'
import { waitFor } from '../wait'
import { CLIENT, ERROR, parseTraceparent, SERVER, startCollector, type ReceivedSpan } from './support'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'

t.test('HTTP/2 and gRPC: the context goes on over h2c, and a call past its deadline ends its attempt span as an error', async t => {
  const collector = await startCollector(t)
  const backend = await startH2Backend(t, 'mute', undefined, req => {
    // Never answers, and takes no notice of the deadline.
    req.resume()
  })
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c', timeouts: { response: 30000 } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }],
    tracing: { endpoint: collector.url, batchDelay: 10 }
  })
  const answer = await h2Request(gw.port, {
    ':method': 'POST', ':path': '/gatehouse.test.Echo/Say', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m',
    traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`
  }, Buffer.from([0, 0, 0, 0, 0]))
  t.equal(answer.headers['grpc-status'], '4', 'DEADLINE_EXCEEDED from the gateway')

  await waitFor(() => collector.trace(TRACE_ID).length >= 2, { what: 'the call\'s spans' })
  const spans = collector.trace(TRACE_ID)
  const server = spans.find(s => s.kind === SERVER) as ReceivedSpan
  const attempt = spans.find(s => s.kind === CLIENT) as ReceivedSpan
  t.equal(server.parentSpanId, CLIENT_SPAN)
  t.equal(attempt.parentSpanId, server.spanId)
  t.match(server.attributes, { 'network.protocol.version': '2', 'server.address': 'gw.test', 'http.request.method': 'POST', 'http.route': '/*' })
  t.match(attempt.attributes, { 'gatehouse.attempt.outcome': 'deadline', 'error.type': 'deadline exceeded' })
  t.equal(attempt.status.code, ERROR, 'the attempt past its deadline is an error')
  t.equal(parseTraceparent(backend.hits[0].headers.traceparent)?.spanId, attempt.spanId, 'the h2c backend got the attempt span\'s context')
})
