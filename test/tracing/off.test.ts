import t from 'tap'
import type { RouteOptions } from 'fastify'
import { call, startBackend, startGateway } from '../helper'
import { toArray } from '../../lib/to-array'
import { stepOf } from '../../plugins/policies/pipeline'
import { startCollector } from './support'

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const loaded = (): string[] => Object.keys(require.cache).filter(k => k.includes('/@opentelemetry/'))

t.test('off: no OpenTelemetry module loaded, no hook hung, the client\'s context passed on untouched', async t => {
  const b = await startBackend(t, 'b')
  const routes: RouteOptions[] = []
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  }, app => { app.addHook('onRoute', r => { routes.push(r) }) })
  const res = await call(`${gw.url}/x`, { headers: { traceparent: TRACEPARENT, tracestate: 'vendor=abc' } })
  t.equal(res.status, 200)
  t.equal(b.hits[0].headers.traceparent, TRACEPARENT, 'a gateway that does not trace is transparent to the trace')
  t.equal(b.hits[0].headers.tracestate, 'vendor=abc')
  t.same(loaded(), [], 'no @opentelemetry module required')
  const ours = routes.filter(r => r.config?.gatehouse !== undefined)
  t.equal(ours.length, 1)
  t.notOk(toArray(ours[0].onRequest as never).some(h => stepOf(h) === 'trace'), 'no trace hook on the route')

  // The same checks see tracing when it is on, so they are not blind.
  const collector = await startCollector(t)
  const on: RouteOptions[] = []
  await startGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    tracing: { endpoint: collector.url }
  }, app => { app.addHook('onRoute', r => { on.push(r) }) })
  t.not(loaded().length, 0, 'loaded once tracing is on')
  const traced = on.filter(r => r.config?.gatehouse !== undefined)
  t.ok(toArray(traced[0].onRequest as never).some(h => stepOf(h) === 'trace'), 'and the trace hook hangs')
})
