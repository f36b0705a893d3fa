import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { normalizeConfig, type NormalizedConfig } from '../../lib/config'
import { UpstreamRegistry } from '../../lib/upstreams/registry'
import { routeTableChanged } from '../../lib/http/route-table'
import { RuntimeServers } from '../../lib/upstreams/runtime-servers'
import { SplitTable } from '../../lib/routing/split-table'
import type { Gatehouse } from '../../lib/upstreams/gatehouse'

// Re-exported for app.ts's typings: importing the type from here brings the declaration below
// (app.gatehouse on FastifyInstance) into the package's app.d.ts.
export type { Gatehouse }

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
  const runtime = new RuntimeServers(registry, {
    drainTimeout: () => gatehouse.config.drainTimeout,
    // Logged once, by the gateway's own logger: the admin instance's is held at "warn".
    onChange: change => fastify.log.info({ change }, 'admin change')
  })
  // A weight changed (admin API or reload): GET /config exports the routes with it.
  const splits = new SplitTable(opts.config.routes)
  splits.on('change', change => {
    gatehouse.config = { ...gatehouse.config, routes: splits.withWeights(gatehouse.config.routes) }
    fastify.log.info({ change }, change.by === 'reload' ? 'split weights reloaded' : 'admin change')
  })
  const gatehouse: Gatehouse = {
    runtime,
    splits,
    config: opts.config,
    registry,
    reload (input) {
      const next = normalizeConfig(input, { handleSignals: gatehouse.config.handleSignals, baseDir: gatehouse.config.baseDir })
      const routesChanged = routeTableChanged(gatehouse.config.routes, next.routes)
      // The file is the truth again, over what the admin API changed at runtime: runtime states
      // go first, so that apply() restores the rest.
      const runtimeChangesDropped = runtime.reset()
      const summary = registry.apply(next)
      // Routes are Fastify route declarations, fixed once the server is ready; the old table stays.
      // So is the access log's format, compiled into those routes' hooks.
      const accessLogChanged = JSON.stringify(next.accessLog) !== JSON.stringify(gatehouse.config.accessLog)
      gatehouse.config = { ...next, routes: splits.reload(gatehouse.config.routes, next.routes), accessLog: gatehouse.config.accessLog }
      if (routesChanged) fastify.log.warn('the route table changed: routes are fixed at start, restart Gatehouse to apply them')
      if (accessLogChanged) fastify.log.warn('accessLog changed: it is fixed at start, restart Gatehouse to apply it')
      return { ...summary, routesChanged, runtimeChangesDropped }
    }
  }
  fastify.decorate('gatehouse', gatehouse)
  fastify.addHook('onClose', async () => {
    runtime.close()
    await registry.close()
  })
}

export default fp(upstreams, { fastify: '5.x', name: 'gatehouse-upstreams' })
