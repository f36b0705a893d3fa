import type { SecureServerOptions } from 'node:http2'
import { loadConfigFile, normalizeConfig } from '../config'
import type { ListenOptions } from '../config/types'
import { ConfigError } from '../errors'

/**
 * The Fastify server options a config's `listen` block calls for: `https` with the default
 * certificate, and `http2` with HTTP/1.1 allowed (ALPN offers h2 and http/1.1, RFC 7301), so
 * HTTP/1.1 clients and WebSocket upgrades keep working on the same port. SNI certificates are
 * added by the plugin itself (plugins/edge/front-tls.ts), on the server, where rotation can reach them.
 * PEM text rather than Buffers: fastify-cli deep-merges these options, which copies strings intact.
 */
export interface GatehouseServerOptions {
  https?: SecureServerOptions
  http2?: true
  http?: { highWaterMark: number }
}

/**
 * The write buffer of each client connection (Node's default is 64 KiB). undici hands a backend's
 * body on in chunks of up to 64 KiB, and a write that reaches the buffer's mark returns false
 * even when the kernel took it at once, so with the default every chunk of a large answer made
 * pipe pause the backend stream, wait for 'drain' and resume it: about 16 rounds per 1 MiB
 * (counted; with 128 KiB, none but the last). A slow client can hold this much more in user
 * space per connection, bounded by maxConnections and cut by sendTimeout. Plain HTTP only: a
 * TLS server's sockets do not take the option (measured: 64 KiB with it).
 */
export const CLIENT_WRITE_BUFFER = 128 * 1024

/** Streams one HTTP/2 connection may have open at once: nginx's http2_max_concurrent_streams. */
export const H2_MAX_CONCURRENT_STREAMS = 128
/** Streams refused for going past it before the connection is closed (GOAWAY ENHANCE_YOUR_CALM); Node's default is 100. */
export const H2_MAX_REJECTED_STREAMS = 100
/** Invalid frames tolerated per connection before GOAWAY ENHANCE_YOUR_CALM; Node's default is 1000. */
export const H2_MAX_INVALID_FRAMES = 100
/**
 * Stream resets a client may send (the "rapid reset" attack: open, reset, repeat, never
 * reaching the concurrency bound): a burst of this many, then H2_RESET_RATE a second, past
 * which Gatehouse's own bound (lib/http/h2-reset-bound.ts) ends the connection with GOAWAY
 * ENHANCE_YOUR_CALM. nghttp2's defaults are 1000 and 33.
 */
export const H2_RESET_BURST = 200
export const H2_RESET_RATE = 33
/**
 * nghttp2's own bound, a backstop set past Gatehouse's. nghttp2 answers with GOAWAY
 * INTERNAL_ERROR (as if the server had failed), and Node 24 passes streamResetBurst on to it:
 * at the same 200 it would trip on the very reset Gatehouse's bound does, in C, before
 * Gatehouse's GOAWAY, and the client would be told the server broke instead of ENHANCE_YOUR_CALM
 * (RFC 9113 §7: the peer is generating excessive load; HAProxy's answer to the same flood).
 * Still there for a flood that outruns the event loop (a single read of thousands of
 * open-and-reset pairs is counted by nghttp2 as it parses them).
 */
export const H2_NGHTTP2_RESET_BURST = 2 * H2_RESET_BURST
export const H2_NGHTTP2_RESET_RATE = 2 * H2_RESET_RATE

// Node's names (http2.createSecureServer); streamResetBurst/Rate are read by Node ≥ 20.18 and 22.9.
const H2_BOUNDS = Object.freeze({
  settings: { maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS },
  maxSessionRejectedStreams: H2_MAX_REJECTED_STREAMS,
  maxSessionInvalidFrames: H2_MAX_INVALID_FRAMES,
  streamResetBurst: H2_NGHTTP2_RESET_BURST,
  streamResetRate: H2_NGHTTP2_RESET_RATE
})

export function serverOptionsOf (listen: ListenOptions): GatehouseServerOptions {
  const tls = listen.tls
  if (tls === undefined) return { http: { highWaterMark: CLIENT_WRITE_BUFFER } }
  const https: SecureServerOptions = { cert: tls.cert, key: tls.key, minVersion: tls.minVersion }
  if (!listen.http2) return { https }
  https.allowHTTP1 = true
  Object.assign(https, H2_BOUNDS, { settings: { ...H2_BOUNDS.settings } })
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
