import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { loadConfigFile, normalizeConfig, type GatehouseConfig, type NormalizedConfig } from './lib/config'
import { ConfigError } from './lib/errors'
import upstreams from './plugins/upstreams'
import requestBody from './plugins/request-body'
import errorHandler from './plugins/error-handler'
import forward from './plugins/forward'
import requestState from './plugins/request-state'
import requestId from './plugins/request-id'
import closeOnDrain from './plugins/close-on-drain'
import accessLog from './plugins/access-log'
import websocket from './plugins/websocket'
import limits from './plugins/limits'
import healthCheck from './plugins/health-check'
import sticky from './plugins/sticky'
import proxyRoutes from './routes/proxy'
import rateLimit from './plugins/rate-limit'
import signals from './plugins/signals'
import admin from './plugins/admin'
import strictHttp from './plugins/strict-http'

export type { GatehouseConfig } from './lib/config'
export type { Gatehouse } from './plugins/upstreams'

// Options Fastify itself adds to every plugin's options; they are not part of the config.
const FASTIFY_PLUGIN_KEYS = ['prefix', 'logLevel', 'logSerializers']

/**
 * Gatehouse as a Fastify plugin: `app.register(gatehouse, config)`. With no config in the
 * options (as under `fastify start dist/app.js`), the config is read from the file that
 * GATEHOUSE_CONFIG names, and the gateway handles SIGHUP (reload) and SIGTERM (drain) itself.
 *
 * The outer plugin is wrapped with fastify-plugin so that `app.gatehouse` (reload, the
 * upstream registry) is visible to the host app; everything else (the body parser, the
 * error handler, hooks and routes) lives in an encapsulated child and leaves the host's
 * other routes alone.
 */
async function gatehousePlugin (fastify: FastifyInstance, opts: Partial<GatehouseConfig> & { prefix?: string }) {
  const { config, file } = resolveConfig(opts)
  // Server-wide, before routing: protocol checks and target normalisation (issue 7).
  await fastify.register(strictHttp)
  await fastify.register(upstreams, { config })
  await fastify.register(gateway, { prefix: opts.prefix, config, file })
}

async function gateway (fastify: FastifyInstance, { config, file }: { config: NormalizedConfig, file?: string }) {
  // Registered in this order on purpose: the body parser and the forwarder first, since the
  // policies and the routes rely on them; the routes last, once every hook is in place.
  await fastify.register(errorHandler)
  await fastify.register(requestState)
  await fastify.register(requestId)
  await fastify.register(closeOnDrain)
  await fastify.register(limits, config.limits)
  await fastify.register(requestBody, { retryBodyLimit: config.retryBodyLimit, receiveTimeout: config.limits.receiveTimeout })
  await fastify.register(forward, { registry: fastify.gatehouse.registry })
  await fastify.register(accessLog)
  await fastify.register(websocket)
  await fastify.register(healthCheck)
  await fastify.register(sticky)
  await fastify.register(rateLimit, { config })
  await fastify.register(proxyRoutes)
  if (config.admin !== undefined) await fastify.register(admin, config.admin)
  if (config.handleSignals) await fastify.register(signals, { configFile: file, drainTimeout: config.drainTimeout })
}

function resolveConfig (opts: Record<string, unknown>): { config: NormalizedConfig, file?: string } {
  const given = Object.fromEntries(Object.entries(opts).filter(([k]) => !FASTIFY_PLUGIN_KEYS.includes(k)))
  if (Object.keys(given).length > 0) return { config: normalizeConfig(given) }
  const file = process.env.GATEHOUSE_CONFIG
  if (file === undefined || file === '') {
    throw new ConfigError('no config: pass one to app.register(gatehouse, config), or set GATEHOUSE_CONFIG to a JSON file')
  }
  return { config: loadConfigFile(file, { handleSignals: true }), file }
}

const gatehouse = fp(gatehousePlugin, { fastify: '5.x', name: 'gatehouse' })

export default gatehouse
export { gatehouse }
