import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { GatewayRoute } from '../../../lib/config'
import type { RefusalReason } from '../../../lib/filters/refusal'

/**
 * Marks a request as refused by a filter and counts it on the route's group: the access log
 * writes the reason on its one line, /metrics shows gatehouse_refused_total{upstream,reason}.
 * Returns the error, for the hook to hand to Fastify (which answers it through the error handler).
 */
export function refuse<E extends Error> (fastify: FastifyInstance, request: FastifyRequest, route: GatewayRoute, reason: RefusalReason, error: E): E {
  request.refusal = reason
  const upstream = route.upstream === undefined ? undefined : fastify.gatehouse.registry.get(route.upstream)
  if (upstream !== undefined) upstream.refused.set(reason, (upstream.refused.get(reason) ?? 0) + 1)
  return error
}
