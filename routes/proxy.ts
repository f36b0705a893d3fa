import type { FastifyInstance, LogLevel } from 'fastify'
import type { GatewayRoute } from '../lib/config'
import { routeMethods } from '../lib/http/route-table'
import { ConfigError } from '../lib/errors'
import { ROUTE_METHODS } from '../lib/http/methods'
import { declarationOrder, routeConstraints } from '../lib/routing/route-constraints'
import { forwardHandler, chosenGroup } from './forward-handler'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The config route a Fastify route was declared from; policies read their settings here. */
    gatehouse?: GatewayRoute
  }
}

/**
 * One Fastify route per configured route: Fastify's router matches path, method and host
 * (a route constraint), so there is no matching loop of our own.
 */
export default async function proxyRoutes (fastify: FastifyInstance) {
  // The level a route would log at otherwise: the one the host registered Gatehouse with, or
  // the instance's. Only when that is below "warn" does the route get a level of its own: a
  // request logger with a level option costs Fastify a costlier child logger on every request
  // (pino rebinds its methods for a child's own level: ≈1 µs per request).
  fastify.addHook('onRoute', routeOptions => {
    if (routeOptions.config?.gatehouse === undefined) return
    const own: string | undefined = routeOptions.logLevel
    const level = own === undefined || own === '' ? fastify.log.level : own
    if (level !== accessLogLevel(level)) routeOptions.logLevel = 'warn'
    else if (level === fastify.log.level) routeOptions.logLevel = undefined
  })
  // Fastify routes only the methods it knows (the standard ones); the others a route may take
  // are added, with a body allowed (streamed on as any other). The set is the server's, shared.
  const known = new Set(fastify.supportedMethods)
  for (const m of ROUTE_METHODS) if (!known.has(m)) fastify.addHttpMethod(m, { hasBody: true })
  for (const route of declarationOrder(fastify, fastify.gatehouse.config.routes)) {
    const name = route.upstream
    // Under a prefix the host gave (`register(gatehouse, { prefix: '/gw' })`), the route is
    // declared at prefix + path, so the prefix comes off first, then the route's own stripPrefix:
    // the backend sees the path the config describes. Worked out once, per route.
    const hostPrefix = fastify.prefix.replace(/\/+$/, '')
    const stripPrefix = hostPrefix === '' ? route.stripPrefix : hostPrefix + (route.stripPrefix ?? '')
    try {
      fastify.route({
        method: routeMethods(route),
        url: route.path,
        exposeHeadRoute: false,
        constraints: routeConstraints(route),
        config: { gatehouse: route },
        // A split route's group is chosen per request, by its split step (plugins/policies/split.ts).
        handler: forwardHandler(fastify, stripPrefix, route.split !== undefined ? chosenGroup : () => name)
      })
    } catch (err) {
      throw new ConfigError(`routes[${route.index}].match: ${(err as Error).message}`)
    }
  }
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

/**
 * The proxy writes one access line per request itself (plugins/proxy/forward.ts, through the
 * instance logger). Fastify's own "incoming request" and "request completed" lines would make
 * three, and its disableRequestLogging is a server option a plugin cannot set; a route log
 * level of at least "warn" silences those two while warnings and errors still show.
 */
function accessLogLevel (level: string): LogLevel {
  return (LEVELS[level] ?? LEVELS.info) >= LEVELS.warn ? level as LogLevel : 'warn'
}
