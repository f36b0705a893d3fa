import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { loadConfigFile, normalizeConfig, type GatehouseConfig, type NormalizedConfig } from './lib/config'
import { ConfigError } from './lib/errors'
import upstreams from './plugins/upstreams'
import requestBody from './plugins/request-body'
import errorHandler from './plugins/error-handler'
import forward from './plugins/forward'
import proxyRoutes from './routes/proxy'
import signals from './plugins/signals'

export type { GatehouseConfig } from './lib/config'
export type { Gatehouse } from './plugins/upstreams'

// Options Fastify itself adds to every plugin's options; they are not part of the config.
const FASTIFY_PLUGIN_KEYS = ['prefix', 'logLevel', 'logSerializers']

/**
 * Gatehouse as a Fastify plugin: `app.register(gatehouse, config)`. With no config in the
 * options (as under `fastify start dist/app.js`), the config is read from the file that
 * GATEHOUSE_CONFIG names, and the gateway handles SIGHUP (reload) and SIGTERM (drain) itself.
 */
const gatehouse: FastifyPluginAsync<Partial<GatehouseConfig>> = async function gatehouse (fastify: FastifyInstance, opts) {
  const { config, file } = resolveConfig(opts)

  // Registered in this order on purpose: the upstreams and the body parser first, since the
  // policies and the routes read them; the routes last, once every hook is in place.
  await fastify.register(upstreams, { config })
  await fastify.register(errorHandler)
  await fastify.register(requestBody, { retryBodyLimit: config.retryBodyLimit })
  await fastify.register(forward, { registry: fastify.gatehouse.registry })
  await fastify.register(proxyRoutes)
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

export default gatehouse
export { gatehouse }
