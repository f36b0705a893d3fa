import type { FastifyInstance } from 'fastify'
import type { RouteOptions } from '../lib/config'
import { forwardPath, hostPattern, routeMethods } from '../lib/route-table'
import { ConfigError, NoServerAvailableError } from '../lib/errors'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The config route a Fastify route was declared from; policies read their settings here. */
    gatehouse?: RouteOptions
  }
}

/**
 * One Fastify route per configured route: Fastify's router matches path, method and host
 * (a route constraint), so there is no matching loop of our own.
 */
export default async function proxyRoutes (fastify: FastifyInstance) {
  for (const route of fastify.gatehouse.config.routes) {
    const name = route.upstream
    const stripPrefix = route.stripPrefix
    try {
      fastify.route({
        method: routeMethods(route),
        url: route.path,
        exposeHeadRoute: false,
        constraints: route.host === undefined ? undefined : { host: hostPattern(route.host) },
        config: { gatehouse: route },
        handler (request, reply) {
          // Looked up per request so that a reload's changes to the group apply at once.
          const upstream = fastify.gatehouse.registry.get(name)
          if (upstream === undefined) {
            reply.header('retry-after', '1').send(new NoServerAvailableError(name))
            return reply
          }
          reply.forward(upstream, forwardPath(request.url, stripPrefix))
          return reply
        }
      })
    } catch (err) {
      throw new ConfigError(`routes[${route.index}].match: ${(err as Error).message}`)
    }
  }
}
