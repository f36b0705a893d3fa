import type { GatehouseConfig, RouteConfig } from '../schema'
import type { GatewayRoute, RouteLimit } from '../types'
import { DEFAULT_GRPC_WEB, DEFAULT_RATE_LIMIT } from '../defaults'
import { ms } from '../values'
import { ROUTE_METHODS } from '../../http/methods'
import { routeFilters, type RouteDefaults } from './filters'
import { normalizeCacheRule } from './cache'
import { normalizeCompressRule } from './compress'
import { normalizeMirror } from './mirror'
import { normalizeMatch } from './match'
import { normalizeSplit } from './split'

/** The routes with their defaults; an unknown upstream or a stripPrefix that is not a prefix goes to `problems`. */
export function normalizeRoutes (routes: RouteConfig[], upstreams: ReadonlySet<string>, global: GatehouseConfig['rateLimit'], problems: string[], defaults: RouteDefaults = { filters: {} }): GatewayRoute[] {
  const normalized = routes.map((r, index): GatewayRoute => {
    const split = normalizeSplit(r.upstream, `routes[${index}].upstream`, upstreams, problems)
    if (typeof r.upstream === 'string' && !upstreams.has(r.upstream)) problems.push(unknownUpstream(index, r.upstream, upstreams))
    // A redirect answers without a backend, so it may name none; every other route needs one.
    if (r.upstream === undefined && r.redirect === undefined) problems.push(`routes[${index}].upstream: required (or a redirect)`)
    if (r.upstream !== undefined && r.redirect !== undefined) problems.push(`routes[${index}].redirect: a redirect route answers itself and takes no upstream`)
    if (r.stripPrefix !== undefined && !r.match.path.startsWith(r.stripPrefix)) {
      problems.push(`routes[${index}].stripPrefix: "${r.stripPrefix}" is not a prefix of match.path "${r.match.path}"`)
    }
    return {
      index,
      ...(r.name !== undefined && { name: r.name }),
      path: r.match.path,
      host: r.match.host?.toLowerCase(),
      methods: r.match.methods,
      upstream: split === undefined ? r.upstream as string | undefined : split[0].name,
      ...(split !== undefined && { split }),
      stripPrefix: r.stripPrefix === undefined ? undefined : r.stripPrefix.replace(/\/+$/, ''),
      rateLimit: routeLimit(r.rateLimit, global),
      ...routeFilters(r, index, defaults, problems),
      cache: normalizeCacheRule(`routes[${index}].cache`, r.cache, problems),
      compress: normalizeCompressRule(`routes[${index}].compress`, r.compress, problems),
      conditions: normalizeMatch(r.match, `routes[${index}]`, problems),
      ...(r.mirror !== undefined && { mirror: normalizeMirror(index, r, upstreams, problems) }),
      grpcWeb: r.grpcWeb ?? DEFAULT_GRPC_WEB
    }
  })
  checkClashes(normalized, problems)
  checkNames(normalized, problems)
  return normalized
}

export function unknownUpstream (index: number, name: string, upstreams: ReadonlySet<string>): string {
  const known = [...upstreams].map(n => `"${n}"`).join(', ')
  return `routes[${index}].upstream: unknown upstream "${name}" (known: ${known})`
}

/** undefined: the route shares the global limit; false: none; an object: its own, missing keys from the global one. */
function routeLimit (own: RouteConfig['rateLimit'], global: GatehouseConfig['rateLimit']): RouteLimit | false | undefined {
  if (own === undefined || own === false) return own
  return {
    key: own.key ?? global?.key ?? DEFAULT_RATE_LIMIT.key,
    max: own.max ?? global?.max ?? DEFAULT_RATE_LIMIT.max,
    timeWindow: ms(own.timeWindow ?? global?.timeWindow, DEFAULT_RATE_LIMIT.timeWindow)
  }
}

/** A name labels one route's series in the metrics: two routes may not share it. */
function checkNames (routes: readonly GatewayRoute[], problems: string[]): void {
  const named = new Map<string, number>()
  for (const r of routes) {
    if (r.name === undefined) continue
    const prev = named.get(r.name)
    if (prev !== undefined) problems.push(`routes[${r.index}].name: "${r.name}" is already the name of routes[${prev}]`)
    else named.set(r.name, r.index)
  }
}

/**
 * Fastify refuses two routes with one path, host, method and conditions; say which config
 * entries clash. Routes that differ by their header, cookie or query conditions may share the rest.
 */
function checkClashes (routes: readonly GatewayRoute[], problems: string[]): void {
  const declared = new Map<string, number>()
  for (const r of routes) {
    for (const m of r.methods ?? ROUTE_METHODS) {
      const key = `${m} ${r.host ?? ''} ${r.path} ${conditionsKey(r)}`
      const prev = declared.get(key)
      if (prev !== undefined && prev !== r.index) {
        problems.push(`routes[${r.index}].match: same path, host and method ${m} as routes[${prev}]${r.conditions === undefined ? '' : ', and the same conditions'}`)
        break
      }
      declared.set(key, r.index)
    }
  }
}

/** The conditions in a canonical spelling: the same ones written in another order are the same. */
function conditionsKey (r: GatewayRoute): string {
  const c = r.conditions
  if (c === undefined) return ''
  const sorted = (m: Record<string, unknown> | undefined) => m === undefined ? undefined : Object.fromEntries(Object.entries(m).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
  return JSON.stringify([sorted(c.headers), sorted(c.cookies), sorted(c.query)])
}
