import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { call, startBackend, startGateway } from '../helper'
import { waitFor } from '../wait'
import { CLIENT, ERROR, parseTraceparent, SERVER, startCollector, type Collector, type ReceivedSpan } from './support'
import type { GatehouseConfig } from '../../lib/config'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'

function tracing (collector: Collector, extra: Partial<NonNullable<GatehouseConfig['tracing']>> = {}): GatehouseConfig['tracing'] {
  // A short batch delay, so that spans arrive as soon as they end.
  return { endpoint: collector.url, batchDelay: 10, ...extra }
}

async function spansOf (collector: Collector, traceId: string, n: number): Promise<ReceivedSpan[]> {
  await waitFor(() => collector.trace(traceId).length >= n, { what: `${n} spans of trace ${traceId}` })
  return collector.trace(traceId)
}

t.test('a client\'s traceparent is continued: the request span is its child, the attempt span the request span\'s, and the backend gets the attempt\'s context', async t => {
  const collector = await startCollector(t)
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: b.url, id: 'b1' }] } },
    routes: [{ match: { path: '/api/*' }, upstream: 'api' }],
    tracing: tracing(collector, { serviceName: 'edge-gw' })
  })
  const res = await call(`${gw.url}/api/items?q=1`, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc', 'user-agent': 'tracing-test' } })
  t.equal(res.status, 200)

  const spans = await spansOf(collector, TRACE_ID, 2)
  t.equal(spans.length, 2, 'one request span and one attempt span')
  const server = spans.find(s => s.kind === SERVER) as ReceivedSpan
  const client = spans.find(s => s.kind === CLIENT) as ReceivedSpan
  t.ok(server, 'a SERVER span')
  t.ok(client, 'a CLIENT span')
  t.equal(server.parentSpanId, CLIENT_SPAN, 'the request span\'s parent is the client\'s span')
  t.equal(client.parentSpanId, server.spanId, 'the attempt span\'s parent is the request span')
  t.equal(server.name, 'GET /api/*', 'named by method and route')
  t.match(server.attributes, {
    'http.request.method': 'GET',
    'http.route': '/api/*',
    'url.path': '/api/items',
    'url.scheme': 'http',
    'http.response.status_code': 200,
    'client.address': '127.0.0.1',
    'server.address': '127.0.0.1',
    'network.protocol.version': '1.1',
    'user_agent.original': 'tracing-test',
    'gatehouse.upstream': 'api'
  })
  t.notOk('url.query' in server.attributes, 'the query string is not recorded (it may carry secrets)')
  t.equal(server.status.code, 0, 'a 200 is no error')
  t.match(client.attributes, {
    'http.request.method': 'GET',
    'server.address': '127.0.0.1',
    'server.port': b.port,
    'gatehouse.server.id': 'b1',
    'gatehouse.attempt': 1,
    'gatehouse.attempt.outcome': 'answered',
    'http.response.status_code': 200
  })
  t.notOk('http.request.resend_count' in client.attributes, 'a first attempt is no resend')
  t.equal(server.resource['service.name'], 'edge-gw')

  const seen = parseTraceparent(b.hits[0].headers.traceparent)
  t.ok(seen, `the backend got a valid traceparent (${String(b.hits[0].headers.traceparent)})`)
  t.equal(seen?.traceId, TRACE_ID, 'of the client\'s trace')
  t.equal(seen?.spanId, client.spanId, 'whose parent is the attempt span, not the client\'s span')
  t.equal(seen?.flags, '01', 'sampled')
  t.equal(b.hits[0].headers.tracestate, 'vendor=abc', 'the client\'s tracestate goes on with its trace')
})

t.test('without a traceparent a new trace starts, and the backend gets its context', async t => {
  const collector = await startCollector(t)
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    tracing: tracing(collector)
  })
  // A tracestate alone belongs to no trace this gateway continues: it must not reach the backend.
  t.equal((await call(`${gw.url}/x`, { headers: { tracestate: 'orphan=1' } })).status, 200)
  const seen = parseTraceparent(b.hits[0].headers.traceparent)
  t.ok(seen, 'the backend got a traceparent')
  const spans = await spansOf(collector, seen?.traceId ?? '', 2)
  const server = spans.find(s => s.kind === SERVER) as ReceivedSpan
  const client = spans.find(s => s.kind === CLIENT) as ReceivedSpan
  t.equal(server.parentSpanId, '', 'the request span is the root')
  t.equal(client.parentSpanId, server.spanId)
  t.equal(seen?.spanId, client.spanId, 'the backend\'s parent is the attempt span')
  t.equal(b.hits[0].headers.tracestate, undefined, 'the orphan tracestate is dropped')
  t.equal(server.resource['service.name'], 'gatehouse', 'the default service name')

  // A broken traceparent is no parent either: a new trace, not the client's garbage passed on.
  t.equal((await call(`${gw.url}/y`, { headers: { traceparent: `00-${'0'.repeat(32)}-${CLIENT_SPAN}-01` } })).status, 200)
  const again = parseTraceparent(b.hits[1].headers.traceparent)
  t.ok(again, 'a valid traceparent replaced the invalid one')
  t.not(again?.traceId, '0'.repeat(32))
  await spansOf(collector, again?.traceId ?? '', 2)
})

t.test('a named route\'s request span is named after its name; http.route stays the path', async t => {
  const collector = await startCollector(t)
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ name: 'checkout', match: { path: '/checkout/*' }, upstream: 'api' }, { match: { path: '/*' }, upstream: 'api' }],
    tracing: tracing(collector)
  })
  const TRACE_NAMED = '5bf92f3577b34da6a3ce929d0e0e4737'
  const TRACE_UNNAMED = '6bf92f3577b34da6a3ce929d0e0e4738'
  t.equal((await call(`${gw.url}/checkout/cart`, { method: 'POST', headers: { traceparent: `00-${TRACE_NAMED}-${CLIENT_SPAN}-01` } })).status, 200)
  t.equal((await call(`${gw.url}/other`, { headers: { traceparent: `00-${TRACE_UNNAMED}-${CLIENT_SPAN}-01` } })).status, 200)
  const named = (await spansOf(collector, TRACE_NAMED, 2)).find(s => s.kind === SERVER) as ReceivedSpan
  t.equal(named.name, 'POST checkout', 'method and the route\'s name')
  t.equal(named.attributes['http.route'], '/checkout/*', 'http.route is still the path')
  const unnamed = (await spansOf(collector, TRACE_UNNAMED, 2)).find(s => s.kind === SERVER) as ReceivedSpan
  t.equal(unnamed.name, 'GET /*', 'a route without a name: method and path')
})

t.test('a failover makes two attempt spans under one request span, the first with its failure', async t => {
  const collector = await startCollector(t)
  const dead = await startBackend(t, 'dead')
  await dead.kill()
  const live = await startBackend(t, 'live')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: dead.url, id: 'dead' }, { url: live.url, id: 'live', backup: true }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    tracing: tracing(collector)
  })
  const res = await call(`${gw.url}/retry-me`, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } })
  t.equal(res.status, 200)
  t.equal(res.headers['x-backend'], 'live')

  const spans = await spansOf(collector, TRACE_ID, 3)
  const server = spans.find(s => s.kind === SERVER) as ReceivedSpan
  const attempts = spans.filter(s => s.kind === CLIENT).sort((a, b) => Number(a.attributes['gatehouse.attempt']) - Number(b.attributes['gatehouse.attempt']))
  t.equal(attempts.length, 2, 'two attempt spans')
  for (const a of attempts) t.equal(a.parentSpanId, server.spanId, 'both under the request span')
  const [first, second] = attempts
  t.match(first.attributes, { 'gatehouse.server.id': 'dead', 'gatehouse.attempt': 1, 'gatehouse.attempt.outcome': 'retried', 'error.type': 'ECONNREFUSED', 'gatehouse.error.code': 'GH_BAD_GATEWAY' })
  t.equal(first.status.code, ERROR, 'the failed attempt is an error')
  t.match(second.attributes, { 'gatehouse.server.id': 'live', 'gatehouse.attempt': 2, 'http.request.resend_count': 1, 'gatehouse.attempt.outcome': 'answered', 'http.response.status_code': 200 })
  t.equal(second.status.code, 0)
  t.equal(server.status.code, 0, 'the request, answered in the end, is no error')
  t.equal(parseTraceparent(live.hits[0].headers.traceparent)?.spanId, second.spanId, 'the live backend saw the second attempt\'s context')
})

t.test('a gateway error and a backend\'s 5xx set the error status', async t => {
  const collector = await startCollector(t)
  const dead = await startBackend(t, 'dead')
  await dead.kill()
  const failing = await startBackend(t, 'failing')
  failing.handle((req, res) => { req.resume(); res.writeHead(503).end('down') })
  const gw = await startGateway(t, {
    upstreams: { gone: { servers: [{ url: dead.url }], retries: 0 }, sad: { servers: [{ url: failing.url }] } },
    routes: [{ match: { path: '/gone/*' }, upstream: 'gone' }, { match: { path: '/sad/*' }, upstream: 'sad' }],
    tracing: tracing(collector)
  })
  const traced = (id: string) => ({ traceparent: `00-${id}-${CLIENT_SPAN}-01` })
  const goneId = 'a'.repeat(32)
  const sadId = 'b'.repeat(32)
  t.equal((await call(`${gw.url}/gone/x`, { headers: traced(goneId) })).status, 502)
  t.equal((await call(`${gw.url}/sad/x`, { headers: traced(sadId) })).status, 503)

  const gone = await spansOf(collector, goneId, 2)
  const goneServer = gone.find(s => s.kind === SERVER) as ReceivedSpan
  const goneAttempt = gone.find(s => s.kind === CLIENT) as ReceivedSpan
  t.equal(goneServer.status.code, ERROR, '502: the request span is an error')
  t.match(goneServer.attributes, { 'http.response.status_code': 502, 'error.type': '502' })
  t.match(goneAttempt.attributes, { 'gatehouse.attempt.outcome': 'failed', 'error.type': 'ECONNREFUSED' })
  t.equal(goneAttempt.status.code, ERROR)

  const sad = await spansOf(collector, sadId, 2)
  const sadServer = sad.find(s => s.kind === SERVER) as ReceivedSpan
  const sadAttempt = sad.find(s => s.kind === CLIENT) as ReceivedSpan
  t.equal(sadServer.status.code, ERROR, 'a backend\'s 503: the request span is an error')
  t.match(sadAttempt.attributes, { 'gatehouse.attempt.outcome': 'answered', 'http.response.status_code': 503, 'error.type': '503' })
  t.equal(sadAttempt.status.code, ERROR)
})

t.test('a request a filter refuses has its request span, and no attempt', async t => {
  const collector = await startCollector(t)
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', filters: { methods: ['GET'] } }],
    tracing: tracing(collector)
  })
  t.equal((await call(`${gw.url}/x`, { method: 'DELETE', headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } })).status, 405)
  const spans = await spansOf(collector, TRACE_ID, 1)
  t.equal(spans.length, 1)
  t.match(spans[0], { kind: SERVER, name: 'DELETE /*', parentSpanId: CLIENT_SPAN, status: { code: 0 }, attributes: { 'http.response.status_code': 405 } })
  t.equal(b.hits.length, 0)
})

t.test('a client that leaves mid-answer: both spans still end, saying so', async t => {
  const collector = await startCollector(t)
  const b = await startBackend(t, 'b')
  // Half an answer, then nothing until the client goes.
  b.handle((req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'text/plain' }); res.write('partial') })
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    tracing: tracing(collector)
  })
  const socket = connect(gw.port, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(`GET /slow HTTP/1.1\r\nHost: x\r\ntraceparent: 00-${TRACE_ID}-${CLIENT_SPAN}-01\r\n\r\n`)
  let got = ''
  socket.on('data', (d: Buffer) => { got += d.toString() })
  await waitFor(() => got.includes('partial'), { what: 'the first bytes of the answer' })
  socket.destroy()
  const spans = await spansOf(collector, TRACE_ID, 2)
  const server = spans.find(s => s.kind === SERVER) as ReceivedSpan
  const attempt = spans.find(s => s.kind === CLIENT) as ReceivedSpan
  t.equal(server.attributes['gatehouse.client_gone'], true, 'the request span says the client left')
  t.equal(server.status.code, 0, 'which is no server error')
  t.equal(attempt.attributes['gatehouse.attempt.outcome'], 'client-gone', 'the attempt was cancelled with it')
})
