import type { RouteHandlerMethod } from 'fastify'
import { compileLocation } from '../../../lib/filters/header-template'
import { bodyPending, closeConnection } from '../../../lib/http/close-connection'
import type { HookFactory } from '../pipeline'

/**
 * `redirect` routes answer themselves: the proxy handler is swapped for one that sends the
 * redirect, so no backend is chosen or touched, while the route's filters and policies
 * (its hooks) still run before it.
 */
export const redirectHandler: HookFactory<'handler'> = route => {
  const redirect = route.redirect
  if (redirect === undefined) return undefined
  const to = compileLocation(redirect.to)
  const gatehouseRedirect: RouteHandlerMethod = function (request, reply) {
    // A body is not read on to its end here; closing spares the client sending the rest.
    if (bodyPending(request.raw)) closeConnection(reply)
    return reply.redirect(to(request), redirect.status)
  }
  return gatehouseRedirect
}
