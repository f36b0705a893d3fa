import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify'
import { forwardPath } from '../lib/http/route-table'
import { NoServerAvailableError } from '../lib/errors'
import { isUpgrade } from '../lib/http/upgrade-request'

/**
 * The handler of a gateway route: the request goes to the group `groupOf` names, proxied or
 * tunnelled. A plain route names its one group; a split route the one its split step chose
 * (plugins/policies/split.ts). The group is looked up per request so that a reload's changes
 * to it apply at once; a redirect route has none (plugins/policies/filters/redirect.ts swaps
 * this handler for its own).
 */
export function forwardHandler (fastify: FastifyInstance, stripPrefix: string | undefined, groupOf: (request: FastifyRequest) => string | null | undefined): RouteHandlerMethod {
  return function (request, reply) {
    const name = groupOf(request)
    const upstream = name === undefined || name === null ? undefined : fastify.gatehouse.registry.get(name)
    if (upstream === undefined) {
      reply.send(new NoServerAvailableError(name ?? ''))
      return
    }
    const path = forwardPath(request.url, stripPrefix)
    if (isUpgrade(request.raw)) reply.tunnel(upstream, path)
    else reply.forward(upstream, path)
    // Nothing returned: a sync handler that returns the reply makes Fastify wait on it as
    // a promise (an end-of-stream watcher on the response and a promise per request, ≈1.5 %
    // of a small GET's CPU in the profile) for nothing; the answer is under way either way.
  }
}

/** A split route's group: the one its split step chose for the request. */
export const chosenGroup = (request: FastifyRequest): string | null => request.chosenUpstream
