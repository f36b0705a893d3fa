import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { loadConfigFile, normalizeConfig, type GatehouseConfig, type NormalizedConfig } from './lib/config'
import { ConfigError } from './lib/errors'
import upstreams from './plugins/proxy/upstreams'
import requestBody from './plugins/proxy/request-body'
import errorHandler from './plugins/proxy/error-handler'
import forward from './plugins/proxy/forward'
import requestState from './plugins/proxy/request-state'
import requestId from './plugins/edge/request-id'
import closeOnDrain from './plugins/edge/close-on-drain'
import accessLog from './plugins/ops/access-log'
import websocket from './plugins/proxy/websocket'
import limits from './plugins/edge/limits'
import healthCheck from './plugins/proxy/health-check'
import sticky from './plugins/policies/sticky'
import proxyRoutes from './routes/proxy'
import rateLimit from './plugins/policies/rate-limit'
import signals from './plugins/ops/signals'
import watchConfig from './plugins/ops/watch'
import strictHttp from './plugins/edge/strict-http'
import expectContinue from './plugins/edge/expect-continue'
import filters from './plugins/policies/filters'
import pipeline from './plugins/policies/pipeline'
import frontTls from './plugins/edge/front-tls'
import redirectHttp from './plugins/edge/redirect-http'
import proxyProtocol from './plugins/edge/proxy-protocol'
import dnsServers from './plugins/proxy/dns-servers'
import insecureUpstreams from './plugins/ops/insecure-upstreams'
import { cliServerOptions, serverMismatch, serverOptions, type GatehouseServerOptions } from './lib/http/server-options'
import type { Gatehouse as GatehouseDecorator } from './plugins/proxy/upstreams'
import { ConfigSchema } from './lib/config/schema'
import { routeCache } from './lib/config/normalize/cache'
import { routeCompress } from './lib/config/normalize/compress'
import workers from './plugins/ops/workers'
import { ADMIN_SLOT } from './lib/cluster/messages'
import { connectionShare } from './lib/cluster/machine-wide'
import type { WorkerChannel } from './lib/cluster/worker-channel'

// Options Fastify itself adds to every plugin's options, and Gatehouse's own `baseDir` (where
// relative certificate paths are read from, as in serverOptions); they are not part of the config.
const FASTIFY_PLUGIN_KEYS = ['prefix', 'logLevel', 'logSerializers', 'baseDir']
// The config's top-level keys, from the schema, so a key added there is recognised here too.
const CONFIG_KEYS = new Set(Object.keys(ConfigSchema.properties))

/** Options of the file-mode plugin (the gatehouse command, or fastify-cli). */
interface GatehouseFileOptions {
  /** The JSON config file, re-read on SIGHUP. Default: the file GATEHOUSE_CONFIG names. */
  configFile?: string
  /** A worker of `gatehouse --workers N` (bin/serve.ts): its channel to the primary. */
  worker?: WorkerChannel
}

/**
 * Gatehouse as a Fastify plugin: `app.register(gatehouse, config)`. With no config in the
 * options (as under `fastify start dist/app.js`), the config is read from the file that
 * GATEHOUSE_CONFIG names, and the gateway handles SIGHUP (reload) and SIGTERM (drain) itself.
 * Its type asks for a whole config; file mode has its own typed plugin, gatehouseFromFile.
 *
 * The outer plugin is wrapped with fastify-plugin so that `app.gatehouse` (reload, the
 * upstream registry) is visible to the host app; everything else (the body parser, the
 * error handler, hooks and routes) lives in an encapsulated child and leaves the host's
 * other routes alone.
 */
async function gatehouse (fastify: FastifyInstance, opts: GatehouseConfig & { baseDir?: string }): Promise<void> {
  const mode = pluginMode(opts as Record<string, unknown>)
  const resolved = mode.config !== undefined ? { config: normalizeConfig(mode.config, { baseDir: opts.baseDir }) } : standaloneFile(fastify)
  await start(fastify, resolved, (opts as { prefix?: string }).prefix)
}

async function gatehouseFromFile (fastify: FastifyInstance, opts: GatehouseFileOptions & { prefix?: string }): Promise<void> {
  const resolved = fromFile(opts.configFile)
  if (opts.worker !== undefined) {
    await fastify.register(workers, { channel: opts.worker })
    // One admin listener for the machine, in one worker; the others' state comes through the primary.
    if (opts.worker.slot !== ADMIN_SLOT) resolved.config = { ...resolved.config, admin: undefined }
    // limits.maxConnections holds for the machine: each worker takes its share.
    const limits = resolved.config.limits
    // The primary watches the file (`watch`) and tells every worker: one validation for the machine.
    resolved.config = { ...resolved.config, watch: false, limits: { ...limits, maxConnections: connectionShare(limits.maxConnections, opts.worker.count) } }
  }
  await start(fastify, resolved, opts.prefix)
}

async function start (fastify: FastifyInstance, { config, file }: { config: NormalizedConfig, file?: string }, prefix: string | undefined) {
  const mismatch = serverMismatch(fastify.server, config.listen)
  if (mismatch !== undefined) throw mismatch
  // Server-wide, before routing: protocol checks and target normalisation, which must see a
  // request before Fastify's router does.
  await fastify.register(strictHttp)
  await fastify.register(expectContinue)
  // The client address behind an L4 balancer, read from the connection before any request.
  if (config.listen.proxyProtocol !== undefined) await fastify.register(proxyProtocol, { from: config.listen.proxyProtocol.from, headersTimeout: config.limits.headersTimeout })
  await fastify.register(upstreams, { config })
  // Servers named for DNS become one server per address before the gateway listens.
  await fastify.register(dnsServers, { config })
  // The listener's certificates and the https redirect; server-wide like strict-http.
  await fastify.register(frontTls, { listen: config.listen })
  await fastify.register(insecureUpstreams, { config })
  if (config.listen.redirectHttp !== undefined) await fastify.register(redirectHttp, { port: config.listen.redirectHttp })
  await fastify.register(gateway, { prefix, config, file })
}

async function gateway (fastify: FastifyInstance, { config, file }: { config: NormalizedConfig, file?: string }) {
  // Registered in this order on purpose: the body parser and the forwarder first, since the
  // policies and the routes rely on them; the routes last, once every hook is in place.
  await fastify.register(errorHandler)
  await fastify.register(requestState)
  // Before the policies, which hand it their hook factories: the order in which a route's
  // policy hooks run is declared there (plugins/policies/pipeline.ts), not by the order of
  // these register calls.
  await fastify.register(pipeline)
  await fastify.register(requestId)
  await fastify.register(closeOnDrain)
  await fastify.register(limits, config.limits)
  await fastify.register(requestBody, { retryBodyLimit: config.retryBodyLimit, requestBuffer: config.limits.requestBuffer, receiveTimeout: config.limits.receiveTimeout })
  await fastify.register(forward, { registry: fastify.gatehouse.registry })
  await fastify.register(accessLog)
  await fastify.register(websocket)
  await fastify.register(healthCheck)
  await fastify.register(sticky)
  await fastify.register(filters, { receiveTimeout: config.limits.receiveTimeout })
  await fastify.register(rateLimit, { config })
  if (config.routes.some(r => r.split !== undefined)) await fastify.register(import('./plugins/policies/split'))
  // The cache, compression, the admin console and fleet sync are loaded only when the config
  // uses them: their modules (http-cache-semantics, lru-cache, @fastify/compress and zlib's
  // streams, prom-client, ioredis) cost memory a gateway without them should not pay.
  if (config.routes.some(r => routeCache(config, r) !== undefined)) await fastify.register(import('./plugins/policies/cache'))
  if (config.routes.some(r => routeCompress(config, r) !== undefined)) await fastify.register(import('./plugins/policies/compress'))
  if (config.routes.some(r => r.mirror !== undefined)) await fastify.register(import('./plugins/policies/mirror'))
  // OpenTelemetry's SDK and exporter too, only when tracing is on.
  if (config.tracing !== undefined) await fastify.register(import('./plugins/ops/tracing'), config.tracing)
  if (config.routes.some(r => r.grpcWeb)) await fastify.register(import('./plugins/policies/grpc-web'))
  await fastify.register(proxyRoutes)
  if (config.admin !== undefined) await fastify.register(import('./plugins/ops/admin'), config.admin)
  if (config.admin?.sync !== undefined) await fastify.register(import('./plugins/ops/fleet-sync'), { url: config.admin.sync })
  if (config.handleSignals) await fastify.register(signals, { configFile: file, drainTimeout: config.drainTimeout })
  // Whether to watch is fixed at start, like the routes. Without a file (config passed as options) there is nothing to watch.
  if (config.watch && file !== undefined) await fastify.register(watchConfig, { file })
}

/**
 * Config mode when the options hold any config key: the options less Fastify's own plugin
 * keys are the config, validated whole (so a typo in a key fails). File mode otherwise: every
 * other key is ignored, since fastify-cli's `-o` passes the server options it loaded to the
 * plugin as well, and those are not config.
 */
function pluginMode (opts: Record<string, unknown>): { config?: Record<string, unknown> } {
  const keys = Object.keys(opts)
  if (!keys.some(k => CONFIG_KEYS.has(k))) return {}
  return { config: Object.fromEntries(Object.entries(opts).filter(([k]) => !FASTIFY_PLUGIN_KEYS.includes(k))) }
}

/**
 * File mode under `fastify start`: a config file that cannot be used ends the process with
 * its one-line-per-problem message and exit code 1, as any server does with a bad config file,
 * instead of fastify-cli's uncaught exception (a stack, avvio frames and statusCode 500).
 */
function standaloneFile (fastify: FastifyInstance): ReturnType<typeof fromFile> {
  try {
    const resolved = fromFile(undefined)
    // `listen.tls` under `fastify start` without -o: say so, rather than serve plain HTTP.
    const mismatch = serverMismatch(fastify.server, resolved.config.listen)
    if (mismatch !== undefined) throw mismatch
    return resolved
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`${err.message}\n`)
    process.exit(1)
  }
}

function fromFile (configFile: string | undefined): { config: NormalizedConfig, file: string } {
  const file = configFile ?? process.env.GATEHOUSE_CONFIG
  if (file === undefined || file === '') {
    throw new ConfigError('no config: pass one to app.register(gatehouse, config), or set GATEHOUSE_CONFIG to a JSON file')
  }
  return { config: loadConfigFile(file, { handleSignals: true }), file }
}

// fastify-plugin marks the functions themselves (and returns them), so they stay plain
// function declarations, which TypeScript lets carry the properties and the namespace below.
fp(gatehouse, { fastify: '5.x', name: 'gatehouse' })
fp(gatehouseFromFile, { fastify: '5.x', name: 'gatehouse' })

/*
 * The export pattern of the @fastify plugins: module.exports is the plugin itself, so that
 * `import gatehouse from 'gatehouse'` in an ESM project and `require('gatehouse')` both get
 * it, and the typings say so (`export =`); `.default` serves TypeScript's CommonJS default
 * import (esModuleInterop) and fastify-cli, which prefers `.default`.
 */
gatehouse.default = gatehouse
gatehouse.gatehouse = gatehouse
gatehouse.gatehouseFromFile = gatehouseFromFile
/** The Fastify server options of a config's `listen` (https, http2): `Fastify({ ...gatehouse.serverOptions(config) })`. */
gatehouse.serverOptions = serverOptions
// fastify-cli's `-o` reads the app's `options` as server options: those of the GATEHOUSE_CONFIG
// file, computed when read, so that requiring the package as a plugin reads no file.
Object.defineProperty(gatehouse, 'options', { enumerable: false, get: () => cliServerOptions() })

// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace gatehouse {
  export type { GatehouseConfig, GatehouseFileOptions, GatehouseServerOptions }
  export const options: GatehouseServerOptions
  export type Gatehouse = GatehouseDecorator
}

export = gatehouse
