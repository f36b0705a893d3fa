import type { GatehouseConfig } from './config-schema'
import type { NormalizedConfig, UpstreamOptions } from './config-types'

/** What a secret is replaced with in GET /config. */
export const REDACTED = '[redacted]'

/**
 * The effective config in the file's own shape (every default written out, durations in ms),
 * so that a runtime change can be saved to the file: upstreams come from the live groups,
 * which hold the servers added, removed or reweighted at run time. Secrets are redacted:
 * the cookie secret, the admin token, and the password of every Redis url.
 */
export function exportConfig (config: NormalizedConfig, upstreams: readonly UpstreamOptions[]): GatehouseConfig {
  const out: GatehouseConfig = {
    upstreams: Object.fromEntries(upstreams.map(u => [u.name, exportUpstream(u)])),
    routes: config.routes.map(r => ({
      match: { path: r.path, ...(r.host !== undefined && { host: r.host }), ...(r.methods !== undefined && { methods: r.methods as never }) },
      upstream: r.upstream,
      ...(r.stripPrefix !== undefined && { stripPrefix: r.stripPrefix }),
      ...(r.rateLimit !== undefined && { rateLimit: r.rateLimit })
    })),
    retryBodyLimit: config.retryBodyLimit,
    drainTimeout: config.drainTimeout,
    handleSignals: config.handleSignals,
    limits: { ...config.limits }
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

function exportUpstream (u: UpstreamOptions): GatehouseConfig['upstreams'][string] {
  return {
    balance: u.balance,
    ...(u.hashKey !== undefined && { hashKey: u.hashKey }),
    servers: u.servers.map(s => ({ url: s.url, id: s.id, weight: s.weight, backup: s.backup })),
    timeouts: { ...u.timeouts, queue: u.queueTimeout, tunnelIdle: u.tunnelIdleTimeout },
    preserveHost: u.preserveHost,
    connections: u.connections,
    retries: u.retries,
    retryBudget: u.retryBudget,
    passive: { ...u.passive },
    ...(u.healthCheck !== undefined && { healthCheck: withoutUndefined({ ...u.healthCheck }) }),
    ...(u.sticky !== undefined && { sticky: { ...u.sticky } })
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
