import type { FastifyInstance } from 'fastify'
import type { GatewayRoute } from '../config'
import { hostPattern } from '../http/route-table'
import { compileMatch } from './match-conditions'
import { MATCH_CONSTRAINT, matchStrategy } from './match-strategy'

/**
 * The Fastify constraints of a route: its host alone, or (when it has header, cookie or query
 * conditions) the match constraint, which tests the host among them (match-strategy.ts says why).
 */
export function routeConstraints (route: GatewayRoute): Record<string, unknown> | undefined {
  const spec = compileMatch(route)
  if (spec !== undefined) return { [MATCH_CONSTRAINT]: spec }
  return route.host === undefined ? undefined : { host: hostPattern(route.host) }
}

/**
 * The routes in the order to declare them: those without conditions first, in config order,
 * then those with. The match strategy is added to the server only when some route has
 * conditions, so that a gateway without them leaves the router as it was; the strategy is the
 * server's (one router for the host app and every Gatehouse registered on it), added once.
 */
export function declarationOrder (fastify: FastifyInstance, routes: readonly GatewayRoute[]): GatewayRoute[] {
  const plain = routes.filter(r => r.conditions === undefined)
  const matched = routes.filter(r => r.conditions !== undefined)
  if (matched.length > 0 && !fastify.hasConstraintStrategy(MATCH_CONSTRAINT)) {
    fastify.addConstraintStrategy(matchStrategy as unknown as Parameters<FastifyInstance['addConstraintStrategy']>[0])
  }
  return [...plain, ...matched]
}
