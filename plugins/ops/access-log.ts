import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify'
import type { GatewayRoute } from '../../lib/config'
import type { HookFactory } from '../policies/pipeline'

/**
 * One access line per request to a gateway route, and its count by status class on the
 * group. The hook hangs on each gateway route with its config in the closure: reading
 * request.routeOptions per request would build a fresh object each time. Routes declared
 * outside the gateway's config pay nothing.
 */
async function accessLog (fastify: FastifyInstance) {
  fastify.gatehousePipeline.provide({ 'access-log': accessLine })
}

const accessLine: HookFactory<'onResponse'> = (route, { fastify }) => {
  const gatehouseAccessLog: onResponseHookHandler = (request, reply, done) => {
    // A request a policy refused (429) never reached the handler; it is logged and counted all the same.
    const upstream = request.upstream ?? (route.upstream === undefined ? undefined : fastify.gatehouse.registry.get(route.upstream))
    if (upstream !== undefined) {
      upstream.responses[Math.floor(reply.statusCode / 100)]++
      upstream.latency.observe(reply.elapsedTime)
    }
    // The instance logger: the route's own logger is held at "warn" (see routes/proxy.ts).
    // Its fields are gathered only when the line is written (not at the usual "warn" of a busy gateway).
    if (infoEnabled(fastify.log as { isLevelEnabled?: (level: string) => boolean })) {
      fastify.log.info({
        reqId: request.id,
        // The client, as nginx's $remote_addr leads its access line: the PROXY protocol's where a balancer sent one.
        remoteAddress: request.ip,
        upstream: route.upstream,
        server: request.backend?.id,
        status: reply.statusCode,
        responseTime: reply.elapsedTime,
        requestId: request.requestId,
        reason: request.refusal ?? undefined
      }, outcome(request, reply, route))
    }
    done()
  }
  return gatehouseAccessLog
}

/** pino's check; a custom logger without one (Fastify does not ask for it) gets every line. */
function infoEnabled (log: { isLevelEnabled?: (level: string) => boolean }): boolean {
  return typeof log.isLevelEnabled !== 'function' || log.isLevelEnabled('info')
}

/** A filter's refusal (its reason on the line), a redirect route's answer, or a proxied request. */
function outcome (request: FastifyRequest, reply: FastifyReply, route: GatewayRoute): 'refused' | 'redirected' | 'proxied' {
  if (request.refusal !== null) return 'refused'
  if (route.redirect !== undefined) return reply.statusCode === route.redirect.status ? 'redirected' : 'refused'
  return request.upstream === null ? 'refused' : 'proxied'
}

export default fp(accessLog, { fastify: '5.x', name: 'gatehouse-access-log', dependencies: ['gatehouse-pipeline', 'gatehouse-request-id'] })
