import type { SecureServerOptions } from 'node:http2'
import { loadConfigFile, normalizeConfig } from './config'
import type { ListenOptions } from './config-types'
import { ConfigError } from './errors'

/**
 * The Fastify server options a config's `listen` block calls for: `https` with the default
 * certificate, and `http2` with HTTP/1.1 allowed (ALPN offers h2 and http/1.1, RFC 7301), so
 * HTTP/1.1 clients and WebSocket upgrades keep working on the same port. SNI certificates are
 * added by the plugin itself (plugins/front-tls.ts), on the server, where rotation can reach them.
 * PEM text rather than Buffers: fastify-cli deep-merges these options, which copies strings intact.
 */
export interface GatehouseServerOptions {
  https?: SecureServerOptions
  http2?: true
}

export function serverOptionsOf (listen: ListenOptions): GatehouseServerOptions {
  const tls = listen.tls
  if (tls === undefined) return {}
  const https: SecureServerOptions = { cert: tls.cert, key: tls.key, minVersion: tls.minVersion }
  if (!listen.http2) return { https }
  https.allowHTTP1 = true
  return { http2: true, https }
}

/**
 * For a host app: `Fastify({ ...serverOptions(config, { baseDir }) })`, then
 * `app.register(gatehouse, config)`. `baseDir` is where relative certificate paths are read
 * from (default: the working directory). Throws the ConfigError the plugin would.
 */
export function serverOptions (config: unknown, opts: { baseDir?: string } = {}): GatehouseServerOptions {
  return serverOptionsOf(normalizeConfig(config, { baseDir: opts.baseDir }).listen)
}

/** The server options of a config file (the gatehouse command, and `fastify start -o`). */
export function serverOptionsFromFile (file: string): GatehouseServerOptions {
  return serverOptionsOf(loadConfigFile(file).listen)
}

/**
 * What `fastify start -o dist/app.js` reads as the app's `options`: the server options of the
 * GATEHOUSE_CONFIG file, or none. A config that cannot be used gives none here: the plugin
 * then reports it, once, the way it reports every bad config (one line a problem, exit 1).
 */
export function cliServerOptions (env: NodeJS.ProcessEnv = process.env): GatehouseServerOptions {
  const file = env.GATEHOUSE_CONFIG
  if (file === undefined || file === '') return {}
  try {
    return serverOptionsFromFile(file)
  } catch (err) {
    if (err instanceof ConfigError) return {}
    throw err
  }
}

/** Whether a Node server can serve the `listen.tls` of a config: a TLS server (https or http2 secure). */
export function isTlsServer (server: unknown): boolean {
  const s = server as { setSecureContext?: unknown, addContext?: unknown }
  return typeof s.setSecureContext === 'function' && typeof s.addContext === 'function'
}

/** The ConfigError for a config with `listen.tls` on a server made without it; undefined when they fit. */
export function serverMismatch (server: unknown, listen: ListenOptions): Error | undefined {
  if (listen.tls === undefined || isTlsServer(server)) return undefined
  return new ConfigError('listen.tls: the server was created without TLS. Under fastify start add -o ' +
    '(fastify start -o dist/app.js); in an app, create it with Fastify({ ...gatehouse.serverOptions(config) })')
}
