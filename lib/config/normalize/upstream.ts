import type { ServerConfig, UpstreamConfig } from '../schema'
import type { HealthCheckOptions, ServerOptions, StickyOptions, UpstreamOptions, UpstreamProtocol } from '../types'
import {
  DEFAULT_BALANCE, DEFAULT_CONNECTIONS, DEFAULT_CONNECT_TIMEOUT, DEFAULT_FAIL_TIMEOUT, DEFAULT_HEALTH, DEFAULT_MAX_FAILS,
  DEFAULT_MAX_EJECTION_PERCENT, DEFAULT_SLOW_START,
  DEFAULT_QUEUE_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT, DEFAULT_RETRIES, DEFAULT_RETRY_BUDGET, DEFAULT_STICKY,
  DEFAULT_TUNNEL_IDLE_TIMEOUT, DEFAULT_UPSTREAM_PROTOCOL, DEFAULT_WEIGHT, DEFAULT_RESOLVE, DEFAULT_RESOLVE_INTERVAL, MIN_RESOLVE_INTERVAL
} from '../defaults'
import { isIP } from 'node:net'
import { ms, timerMs } from '../values'
import { normalizeCacheRule } from './cache'
import { normalizeCompressRule } from './compress'

/**
 * What is wrong with a server's url for the group's `protocol`, if anything: h2 is chosen by
 * ALPN in the TLS handshake, h2c by prior knowledge on a clear connection, so a server of the
 * other scheme could never be spoken to as the group says. For the file and the admin API alike.
 */
export function protocolMismatch (protocol: UpstreamProtocol, url: unknown): string | undefined {
  const scheme = protocol === 'h2' ? 'https:' : protocol === 'h2c' ? 'http:' : undefined
  if (scheme === undefined || typeof url !== 'string' || url.startsWith(scheme)) return undefined
  return `"${protocol}" needs ${scheme}// servers`
}

/** One upstream group with every default filled in; what is wrong goes to `problems`, by path. */
export function normalizeUpstream (name: string, up: UpstreamConfig, problems: string[]): UpstreamOptions {
  const path = `upstreams.${name}`
  const balance = up.balance ?? DEFAULT_BALANCE
  if (balance === 'hash' && up.hashKey === undefined) {
    problems.push(`${path}.hashKey: required when balance is "hash"`)
  }
  if (balance !== 'hash' && up.hashKey !== undefined) {
    problems.push(`${path}.hashKey: only used when balance is "hash" (balance is "${balance}")`)
  }
  const protocol = up.protocol ?? DEFAULT_UPSTREAM_PROTOCOL
  up.servers.forEach((s, i) => {
    const wrong = protocolMismatch(protocol, s.url)
    if (wrong !== undefined) problems.push(`${path}.protocol: ${wrong} (servers[${i}] is ${JSON.stringify(s.url)})`)
  })
  return {
    name,
    balance,
    hashKey: up.hashKey,
    servers: normalizeServers(path, up.servers, up.resolve ?? DEFAULT_RESOLVE, problems),
    timeouts: {
      connect: ms(up.timeouts?.connect, DEFAULT_CONNECT_TIMEOUT),
      response: ms(up.timeouts?.response, DEFAULT_RESPONSE_TIMEOUT)
    },
    queueTimeout: timerMs(problems, `${path}.timeouts.queue`, ms(up.timeouts?.queue, DEFAULT_QUEUE_TIMEOUT)),
    tunnelIdleTimeout: timerMs(problems, `${path}.timeouts.tunnelIdle`, ms(up.timeouts?.tunnelIdle, DEFAULT_TUNNEL_IDLE_TIMEOUT)),
    preserveHost: up.preserveHost ?? true,
    connections: up.connections ?? DEFAULT_CONNECTIONS,
    retries: up.retries ?? DEFAULT_RETRIES,
    retryBudget: up.retryBudget ?? DEFAULT_RETRY_BUDGET,
    passive: {
      maxFails: up.passive?.maxFails ?? DEFAULT_MAX_FAILS,
      failTimeout: ms(up.passive?.failTimeout, DEFAULT_FAIL_TIMEOUT),
      maxEjectionPercent: up.passive?.maxEjectionPercent ?? DEFAULT_MAX_EJECTION_PERCENT
    },
    slowStart: timerMs0(problems, `${path}.slowStart`, ms(up.slowStart, DEFAULT_SLOW_START)),
    healthCheck: up.healthCheck === undefined ? undefined : normalizeHealthCheck(path, up.healthCheck, problems),
    sticky: up.sticky === undefined ? undefined : normalizeSticky(up.sticky),
    cache: normalizeCacheRule(`${path}.cache`, up.cache, problems),
    compress: normalizeCompressRule(`${path}.compress`, up.compress, problems),
    ...(up.proxyProtocol !== undefined && { proxyProtocol: up.proxyProtocol }),
    protocol,
    resolve: up.resolve ?? DEFAULT_RESOLVE,
    resolveInterval: resolveInterval(path, ms(up.resolveInterval, DEFAULT_RESOLVE_INTERVAL), problems)
  }
}

/**
 * One server with its defaults: from the file, or added at run time through the admin API.
 * `groupResolve` is its group's `resolve`, which applies to a server whose url names a host
 * and that says nothing itself.
 */
export function serverOptions (s: ServerConfig, groupResolve = false): ServerOptions {
  const url = new URL(s.url)
  const hostPort = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`
  // undici keys its pools by scheme://host:port with the default port made explicit.
  const origin = `${url.protocol}//${hostPort}`
  const out: ServerOptions = { id: s.id ?? hostPort, url: s.url, origin, weight: s.weight ?? DEFAULT_WEIGHT, backup: s.backup ?? false }
  if (s.slowStart !== undefined) out.slowStart = ms(s.slowStart, DEFAULT_SLOW_START)
  if (isHostName(url.hostname) && (s.resolve ?? groupResolve)) out.resolve = true
  return out
}

/** Whether a URL's host is a name to resolve, not an address (URL keeps IPv6 literals bracketed). */
export function isHostName (hostname: string): boolean {
  return !hostname.startsWith('[') && isIP(hostname) === 0
}

function resolveInterval (path: string, value: number, problems: string[]): number {
  if (value < MIN_RESOLVE_INTERVAL) problems.push(`${path}.resolveInterval: must be at least ${MIN_RESOLVE_INTERVAL} ms (got ${value})`)
  return timerMs(problems, `${path}.resolveInterval`, value)
}

/** A duration that may be 0 (off) and otherwise fits a timer. */
function timerMs0 (problems: string[], path: string, value: number): number {
  return value === 0 ? 0 : timerMs(problems, path, value)
}

function normalizeServers (path: string, list: UpstreamConfig['servers'], groupResolve: boolean, problems: string[]): ServerOptions[] {
  const seen = new Map<string, number>()
  const servers = list.map((s, i) => {
    const server = serverOptions(s, groupResolve)
    if (s.resolve === true && !isHostName(new URL(s.url).hostname)) {
      problems.push(`${path}.servers[${i}].resolve: the url names an address, not a host name to resolve (got ${JSON.stringify(s.url)})`)
    }
    if (server.resolve === true && server.id.includes('@')) {
      problems.push(`${path}.servers[${i}].id: "@" is kept for the servers a name resolves to (id@address)`)
    }
    if (server.slowStart !== undefined) timerMs0(problems, `${path}.servers[${i}].slowStart`, server.slowStart)
    const prev = seen.get(server.id)
    if (prev !== undefined) {
      problems.push(`${path}.servers[${i}]: server id "${server.id}" is already used by ${path}.servers[${prev}]; give one an "id"`)
    }
    seen.set(server.id, i)
    return server
  })
  if (servers.every(s => s.backup)) problems.push(`${path}.servers: needs at least one server that is not a backup`)
  return servers
}

function normalizeHealthCheck (path: string, hc: NonNullable<UpstreamConfig['healthCheck']>, problems: string[]): HealthCheckOptions {
  const healthCheck = {
    type: hc.type ?? DEFAULT_HEALTH.type,
    path: hc.path ?? DEFAULT_HEALTH.path,
    service: hc.service ?? DEFAULT_HEALTH.service,
    host: hc.host,
    interval: ms(hc.interval, DEFAULT_HEALTH.interval),
    timeout: ms(hc.timeout, DEFAULT_HEALTH.timeout),
    healthyThreshold: hc.healthyThreshold ?? DEFAULT_HEALTH.healthyThreshold,
    unhealthyThreshold: hc.unhealthyThreshold ?? DEFAULT_HEALTH.unhealthyThreshold,
    expectStatus: hc.expectStatus ?? DEFAULT_HEALTH.expectStatus
  }
  if (healthCheck.interval < 10) problems.push(`${path}.healthCheck.interval: must be at least 10 ms`)
  if (healthCheck.expectStatus[0] > healthCheck.expectStatus[1]) {
    problems.push(`${path}.healthCheck.expectStatus: the first status must not be above the second`)
  }
  return healthCheck
}

function normalizeSticky (sticky: NonNullable<UpstreamConfig['sticky']>): StickyOptions {
  return {
    cookie: sticky.cookie ?? DEFAULT_STICKY.cookie,
    ttl: ms(sticky.ttl, DEFAULT_STICKY.ttl),
    secure: sticky.secure ?? DEFAULT_STICKY.secure,
    httpOnly: sticky.httpOnly ?? DEFAULT_STICKY.httpOnly,
    sameSite: sticky.sameSite ?? DEFAULT_STICKY.sameSite
  }
}
