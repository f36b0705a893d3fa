import fp from 'fastify-plugin'
import type { FastifyInstance, RouteHandlerMethod } from 'fastify'
import { compileLocation } from '../../../lib/filters/header-template'
import { bodyPending, closeConnection } from '../../../lib/http/close-connection'

/**
 * `redirect` routes answer themselves: the proxy handler is swapped for one that sends the
 * redirect, so no backend is chosen or touched, while the route's filters and policies
 * (its hooks) still run before it.
 */
async function redirects (fastify: FastifyInstance) {
  fastify.addHook('onRoute', routeOptions => {
    const redirect = routeOptions.config?.gatehouse?.redirect
    if (redirect === undefined) return
    const to = compileLocation(redirect.to)
    const gatehouseRedirect: RouteHandlerMethod = function (request, reply) {
      // A body is not read on to its end here; closing spares the client sending the rest.
      if (bodyPending(request.raw)) closeConnection(reply)
      return reply.redirect(to(request), redirect.status)
    }
    routeOptions.handler = gatehouseRedirect
  })
}

export default fp(redirects, { fastify: '5.x', name: 'gatehouse-redirect' })
