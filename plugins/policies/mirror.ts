import fp from 'fastify-plugin'
import type { FastifyInstance, preHandlerHookHandler } from 'fastify'
import { Mirror } from '../../lib/mirror/mirror'
import { mirrorCounts } from '../../lib/mirror/counts'
import { forwardPath } from '../../lib/http/route-table'
import { isUpgrade } from '../../lib/http/upgrade-request'
import type { HookFactory } from './pipeline'

/**
 * `routes[].mirror`: the `mirror` step (preHandler, after the cache lookup) offers each
 * request of a mirroring route to its Mirror (lib/mirror/mirror.ts), which sends a copy or
 * not and returns at once. After every refusal and the cache, so a copy goes only where the
 * route's backend request goes (Envoy's router shadows what it forwards). Registered only
 * when a route mirrors; routes that do not carry no hook of it.
 */
async function mirror (fastify: FastifyInstance) {
  const registry = fastify.gatehouse.registry
  // Every outcome of every mirror group at zero from the first scrape, not from its first copy.
  for (const route of fastify.gatehouse.config.routes) {
    const group = route.mirror === undefined ? undefined : registry.get(route.mirror.upstream)
    if (group !== undefined) mirrorCounts(group)
  }
  const onFailure = (upstream: { name: string }, backend: { id: string }, code: string): void => {
    fastify.log.debug({ upstream: upstream.name, server: backend.id, code }, 'mirror: the copy failed')
  }

  const factory: HookFactory<'preHandler'> = (route, ctx) => {
    if (route.mirror === undefined || route.mirror.percent === 0) return undefined
    const copies = new Mirror(route.mirror, registry, registry.pools, Math.random, onFailure)
    // The path as routes/proxy.ts forwards it: less the host's prefix, then the route's stripPrefix.
    const hostPrefix = ctx.fastify.prefix.replace(/\/+$/, '')
    const stripPrefix = hostPrefix === '' ? route.stripPrefix : hostPrefix + (route.stripPrefix ?? '')
    const hook: preHandlerHookHandler = function gatehouseMirror (request, reply, done) {
      // A tunnel is no request to copy.
      if (!isUpgrade(request.raw)) {
        const url = request.url
        const q = url.indexOf('?')
        const path = forwardPath(url, stripPrefix)
        try {
          copies.offer(request, q === -1 ? path : path + url.slice(q))
        } catch (err) {
          // Whatever a copy runs into is the copy's: the request goes on as if there were no mirror.
          request.log.warn({ err }, 'mirror: the copy could not be made')
        }
      }
      done()
    }
    return hook
  }
  fastify.gatehousePipeline.provide({ mirror: factory })
}

export default fp(mirror, { fastify: '5.x', name: 'gatehouse-mirror', dependencies: ['gatehouse-pipeline', 'gatehouse-upstreams'] })
