import type { FiltersConfig, GatehouseConfig, ListenConfig, RouteConfig, UpstreamConfig } from './schema'
import type { GatewayRoute, ListenOptions, NormalizedConfig, UpstreamOptions, WrittenFilters } from './types'
import { parseSize } from './size'
import { DEFAULT_BASIC_AUTH_REALM } from './defaults'

/** What a secret is replaced with in GET /config. */
export const REDACTED = '[redacted]'

/**
 * The effective config in the file's own shape (defaults written out, durations in ms, sizes in
 * bytes), so that a runtime change can be saved to the file: loaded again, it gives the same
 * config. Settings that merge over a level above (upstream and route cache and compress, route
 * filters and header rules) keep only the keys given: written out, a default would override. Upstreams come from the live groups, which hold the servers added, removed or
 * reweighted at run time. Secrets are redacted: the cookie secret, the admin token, the
 * password of every Redis url and every basic-auth hash; they must be put back before loading.
 */
export function exportConfig (config: NormalizedConfig, upstreams: readonly UpstreamOptions[]): GatehouseConfig {
  const out: GatehouseConfig = {
    upstreams: Object.fromEntries(upstreams.map(u => [u.name, exportUpstream(u)])),
    routes: config.routes.map(r => exportRoute(r, config.written.routes[r.index])),
    retryBodyLimit: config.retryBodyLimit,
    drainTimeout: config.drainTimeout,
    handleSignals: config.handleSignals,
    watch: config.watch,
    workers: config.workers,
    limits: { ...config.limits },
    listen: exportListen(config.listen),
    dns: { servers: [...config.dns.servers] },
    accessLog: structuredClone(config.accessLog),
    ...exportFilterLevel(config.written.top),
    // Top-level `false` normalizes to undefined, the same as leaving the key out.
    ...(config.cache !== undefined && { cache: structuredClone(config.cache) }),
    ...(config.compress !== undefined && { compress: structuredClone(config.compress) }),
    ...(config.tracing !== undefined && { tracing: exportTracing(config.tracing) })
  }
  if (config.rateLimit !== undefined) {
    const { redis, ...rest } = config.rateLimit
    out.rateLimit = { ...rest, ...(redis !== undefined && { redis: redactUrl(redis) }) }
  }
  if (config.cookieSecret !== undefined) out.cookieSecret = REDACTED
  if (config.admin !== undefined) {
    const { token, sync, ...rest } = config.admin
    out.admin = { ...rest, ...(token !== undefined && { token: REDACTED }), ...(sync !== undefined && { sync: redactUrl(sync) }) }
  }
  return out
}

function exportUpstream (u: UpstreamOptions): UpstreamConfig {
  return {
    balance: u.balance,
    ...(u.hashKey !== undefined && { hashKey: u.hashKey }),
    servers: u.servers.map(s => ({ url: s.url, id: s.id, weight: s.weight, backup: s.backup, ...(s.slowStart !== undefined && { slowStart: s.slowStart }), ...(s.resolve === true && { resolve: true }) })),
    timeouts: { ...u.timeouts, queue: u.queueTimeout, tunnelIdle: u.tunnelIdleTimeout },
    preserveHost: u.preserveHost,
    connections: u.connections,
    retries: u.retries,
    retryBudget: u.retryBudget,
    passive: { ...u.passive },
    slowStart: u.slowStart,
    ...(u.healthCheck !== undefined && { healthCheck: withoutUndefined({ ...u.healthCheck }) }),
    ...(u.sticky !== undefined && { sticky: { ...u.sticky } }),
    // An upstream's rules are kept as given (not merged), so they export as they are.
    ...(u.cache !== undefined && { cache: structuredClone(u.cache) }),
    ...(u.compress !== undefined && { compress: structuredClone(u.compress) }),
    // The files' paths, not their PEM text: the client key's content stays out of the answer.
    ...(u.tls !== undefined && { tls: withoutUndefined({ ...u.tlsFiles, servername: u.tls.servername, rejectUnauthorized: u.tls.rejectUnauthorized }) }),
    ...(u.proxyProtocol !== undefined && { proxyProtocol: u.proxyProtocol }),
    protocol: u.protocol,
    resolve: u.resolve,
    resolveInterval: u.resolveInterval
  }
}

function exportRoute (r: GatewayRoute, written: WrittenFilters['routes'][number] | undefined): RouteConfig {
  return {
    ...(r.name !== undefined && { name: r.name }),
    match: { path: r.path, ...(r.host !== undefined && { host: r.host }), ...(r.methods !== undefined && { methods: r.methods as never }), ...structuredClone(r.conditions) },
    // A redirect route has no upstream, and the schema refuses one next to `redirect`.
    ...(r.upstream !== undefined && { upstream: r.split !== undefined ? r.split.map(t => ({ ...t })) : r.upstream }),
    ...(r.redirect !== undefined && { redirect: { ...r.redirect } }),
    ...(r.stripPrefix !== undefined && { stripPrefix: r.stripPrefix }),
    ...(r.rateLimit !== undefined && { rateLimit: r.rateLimit }),
    // The route's own filters, not r.filters (merged with the top level's, exported beside it).
    ...exportFilterLevel(written ?? {}),
    ...(r.cache !== undefined && { cache: structuredClone(r.cache) }),
    ...(r.compress !== undefined && { compress: structuredClone(r.compress) }),
    ...(r.mirror !== undefined && { mirror: { ...r.mirror } }),
    // Written when on: a route exports the keys it was given, and the default is off.
    ...(r.grpcWeb && { grpcWeb: true })
  }
}

function exportFilterLevel (level: WrittenFilters['top']): WrittenFilters['top'] {
  return structuredClone({
    ...(level.filters !== undefined && { filters: exportFilters(level.filters) }),
    ...(level.requestHeaders !== undefined && { requestHeaders: level.requestHeaders }),
    ...(level.responseHeaders !== undefined && { responseHeaders: level.responseHeaders })
  })
}

/** A filters block as written, with its size in bytes, basic auth's defaults and its password hashes redacted. */
function exportFilters (f: FiltersConfig): FiltersConfig {
  const out = structuredClone(f)
  if (typeof out.maxBodySize === 'string') out.maxBodySize = parseSize(out.maxBodySize)
  if (out.basicAuth !== undefined && out.basicAuth !== false) {
    out.basicAuth = {
      realm: out.basicAuth.realm ?? DEFAULT_BASIC_AUTH_REALM,
      // A bcrypt hash can be cracked offline: it is as secret as the password.
      users: Object.fromEntries(Object.keys(out.basicAuth.users).map(user => [user, REDACTED])),
      passAuthorization: out.basicAuth.passAuthorization ?? false
    }
  }
  return out
}

/** Certificates by their files (resolved at load), never their PEM text. */
function exportListen (l: ListenOptions): ListenConfig {
  return {
    http2: l.http2,
    ...(l.redirectHttp !== undefined && { redirectHttp: l.redirectHttp }),
    ...(l.proxyProtocol !== undefined && { proxyProtocol: { from: [...l.proxyProtocol.from] } }),
    ...(l.tls !== undefined && {
      tls: {
        cert: l.tls.certFile,
        key: l.tls.keyFile,
        sni: Object.fromEntries([...l.tls.sni].map(([name, pair]) => [name, { cert: pair.certFile, key: pair.keyFile }])),
        minVersion: l.tls.minVersion
      }
    })
  }
}

/** Header values are a collector's credentials (an API key): names stay, values go. */
function exportTracing (t: NonNullable<NormalizedConfig['tracing']>): NonNullable<GatehouseConfig['tracing']> {
  return {
    ...t,
    endpoint: redactUrl(t.endpoint),
    headers: Object.fromEntries(Object.keys(t.headers).map(name => [name, REDACTED]))
  }
}

/** redis://user:secret@host → redis://user:[redacted]@host; a url without a password is left as it is. */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password === '') return url
    u.password = REDACTED
    return u.toString()
  } catch {
    return REDACTED
  }
}

function withoutUndefined<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}
