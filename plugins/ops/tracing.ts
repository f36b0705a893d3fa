import fp from 'fastify-plugin'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import type { TracingOptions } from '../../lib/config'
import { createTracing, type Tracing } from '../../lib/tracing/tracer'
import { RequestTrace } from '../../lib/tracing/request-trace'
import type { HookFactory } from '../policies/pipeline'

/**
 * Tracing with OpenTelemetry, registered (and its modules loaded) only when `tracing` is set:
 * the `trace` step starts each gateway request's span and hangs its RequestTrace on the
 * request, where the forwarder's and the tunnel's Attempt find it (request.attemptObserver)
 * and tell it of every attempt. Spans held at close are sent before the gateway stops.
 *
 * The SDK is used directly rather than @fastify/otel, which makes a span of every hook of
 * every route (a dozen on a route with policies), needs the process-wide provider and an
 * AsyncLocalStorage context manager, and knows nothing of the attempts behind one request.
 */
async function tracing (fastify: FastifyInstance, options: TracingOptions) {
  const tracing = createTracing(options, fastify.log)
  fastify.gatehousePipeline.provide({ trace: traceStep(tracing) })
  fastify.addHook('onClose', async () => {
    await tracing.shutdown()
  })
}

function traceStep (tracing: Tracing): HookFactory<'onRequest'> {
  return route => {
    const gatehouseTrace: onRequestHookHandler = (request, reply, done) => {
      const trace = new RequestTrace(tracing, route, request)
      request.attemptObserver = trace
      // 'close' comes on every ending, a client that left and a closed tunnel included (onResponse
      // does not). An unsampled request has nothing to end: its spans only carry the context on.
      if (trace.recording) {
        const raw = reply.raw
        raw.once('close', () => trace.end(raw.statusCode, raw.writableFinished))
      }
      done()
    }
    return gatehouseTrace
  }
}

export default fp(tracing, { fastify: '5.x', name: 'gatehouse-tracing', dependencies: ['gatehouse-pipeline', 'gatehouse-request-state'] })
