import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { normalizeConfig, type NormalizedConfig } from '../lib/config'
import { UpstreamRegistry, type ReloadSummary } from '../lib/upstream-registry'
import { routeTableChanged } from '../lib/route-table'

export interface Gatehouse {
  /** The config in force (after the last successful reload). */
  config: NormalizedConfig
  registry: UpstreamRegistry
  /**
   * Validates a new config and applies its upstreams in place. Throws a ConfigError and
   * changes nothing when the config is invalid. Route changes need a restart: the summary
   * says so (routesChanged) and a warning is logged.
   */
  reload (config: unknown): ReloadSummary & { routesChanged: boolean }
  /** Where the admin API listens, once it does (config `admin`). */
  adminUrl?: string
  /** Where the plain-HTTP redirect listener listens, once it does (config `listen.redirectHttp`). */
  redirectUrl?: string
}

declare module 'fastify' {
  interface FastifyInstance {
    gatehouse: Gatehouse
  }
}

export interface UpstreamsOptions {
  config: NormalizedConfig
}

async function upstreams (fastify: FastifyInstance, opts: UpstreamsOptions) {
  const registry = new UpstreamRegistry(opts.config)
  const gatehouse: Gatehouse = {
    config: opts.config,
    registry,
    reload (input) {
      const next = normalizeConfig(input, { handleSignals: gatehouse.config.handleSignals, baseDir: gatehouse.config.baseDir })
      const routesChanged = routeTableChanged(gatehouse.config.routes, next.routes)
      const summary = registry.apply(next)
      // Routes are Fastify route declarations, fixed once the server is ready; the old table stays.
      gatehouse.config = { ...next, routes: gatehouse.config.routes }
      if (routesChanged) fastify.log.warn('the route table changed: routes are fixed at start, restart Gatehouse to apply them')
      return { ...summary, routesChanged }
    }
  }
  fastify.decorate('gatehouse', gatehouse)
  fastify.addHook('onClose', async () => {
    await registry.close()
  })
}

export default fp(upstreams, { fastify: '5.x', name: 'gatehouse-upstreams' })
