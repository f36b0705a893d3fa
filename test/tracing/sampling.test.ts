import t from 'tap'
import { call, startBackend, startGateway } from '../helper'
import { waitFor } from '../wait'
import { parseTraceparent, startCollector } from './support'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'

t.test('sampleRatio 0: nothing is exported, and the backend still gets a valid unsampled context', async t => {
  const collector = await startCollector(t)
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    tracing: { endpoint: collector.url, sampleRatio: 0, batchDelay: 10 }
  })
  for (let i = 0; i < 5; i++) t.equal((await call(`${gw.url}/n${i}`)).status, 200)
  const contexts = b.hits.map(h => parseTraceparent(h.headers.traceparent))
  t.ok(contexts.every(c => c !== undefined), 'every backend request carried a valid traceparent')
  t.ok(contexts.every(c => c?.flags === '00'), 'flagged not sampled')
  t.equal(new Set(contexts.map(c => c?.traceId)).size, 5, 'a trace of its own each')

  // A client's sampled trace is sampled whatever the ratio (parent-based): the check that the collector would have seen spans.
  t.equal((await call(`${gw.url}/sampled`, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } })).status, 200)
  await waitFor(() => collector.trace(TRACE_ID).length === 2, { what: 'the spans of the client\'s sampled trace' })
  t.equal(parseTraceparent(b.hits[5].headers.traceparent)?.flags, '01')

  // Closing sends whatever is still held: after it, the collector has all it will ever get.
  await gw.app.close()
  t.same(collector.spans.map(s => s.traceId), [TRACE_ID, TRACE_ID], 'no span of the unsampled requests')
})

t.test('a client\'s unsampled traceparent is honoured: its trace id goes on, flagged 00, and nothing is exported', async t => {
  const collector = await startCollector(t)
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    tracing: { endpoint: collector.url, batchDelay: 10 }
  })
  t.equal((await call(`${gw.url}/x`, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-00` } })).status, 200)
  const seen = parseTraceparent(b.hits[0].headers.traceparent)
  t.equal(seen?.traceId, TRACE_ID, 'the client\'s trace')
  t.not(seen?.spanId, CLIENT_SPAN, 'under a span of the gateway\'s')
  t.equal(seen?.flags, '00', 'still not sampled')
  await gw.app.close()
  t.same(collector.spans, [], 'nothing exported at ratio 1 either: the client decided')
})
