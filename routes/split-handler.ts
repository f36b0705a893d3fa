import type { FastifyInstance, RouteHandlerMethod } from 'fastify'
import { forwardPath } from '../lib/http/route-table'
import { NoServerAvailableError } from '../lib/errors'
import { isUpgrade } from '../lib/http/upgrade-request'

/** The handler of a split route: the same as any other's, to the group its split step chose. */
export function splitHandler (fastify: FastifyInstance, stripPrefix: string | undefined): RouteHandlerMethod {
  return function (request, reply) {
    const name = request.chosenUpstream
    const upstream = name === null ? undefined : fastify.gatehouse.registry.get(name)
    if (upstream === undefined) {
      reply.send(new NoServerAvailableError(name ?? ''))
      return
    }
    const path = forwardPath(request.url, stripPrefix)
    if (isUpgrade(request.raw)) reply.tunnel(upstream, path)
    else reply.forward(upstream, path)
    // Nothing returned, as routes/proxy.ts's handler: a returned reply is a promise Fastify waits on.
  }
}
