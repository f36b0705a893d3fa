import type { GatehouseConfig, RouteConfig } from '../schema'
import type { GatewayRoute, RouteLimit } from '../types'
import { DEFAULT_GRPC_WEB, DEFAULT_RATE_LIMIT } from '../defaults'
import { ms } from '../values'
import { ROUTE_METHODS } from '../../http/methods'
import { routeFilters, type RouteDefaults } from './filters'
import { normalizeCacheRule } from './cache'
import { normalizeCompressRule } from './compress'

/** The routes with their defaults; an unknown upstream or a stripPrefix that is not a prefix goes to `problems`. */
export function normalizeRoutes (routes: RouteConfig[], upstreams: ReadonlySet<string>, global: GatehouseConfig['rateLimit'], problems: string[], defaults: RouteDefaults = { filters: {} }): GatewayRoute[] {
  const normalized = routes.map((r, index): GatewayRoute => {
    if (r.upstream !== undefined && !upstreams.has(r.upstream)) problems.push(unknownUpstream(index, r.upstream, upstreams))
    // A redirect answers without a backend, so it may name none; every other route needs one.
    if (r.upstream === undefined && r.redirect === undefined) problems.push(`routes[${index}].upstream: required (or a redirect)`)
    if (r.upstream !== undefined && r.redirect !== undefined) problems.push(`routes[${index}].redirect: a redirect route answers itself and takes no upstream`)
    if (r.stripPrefix !== undefined && !r.match.path.startsWith(r.stripPrefix)) {
      problems.push(`routes[${index}].stripPrefix: "${r.stripPrefix}" is not a prefix of match.path "${r.match.path}"`)
    }
    return {
      index,
      path: r.match.path,
      host: r.match.host?.toLowerCase(),
      methods: r.match.methods,
      upstream: r.upstream,
      stripPrefix: r.stripPrefix === undefined ? undefined : r.stripPrefix.replace(/\/+$/, ''),
      rateLimit: routeLimit(r.rateLimit, global),
      ...routeFilters(r, index, defaults, problems),
      cache: normalizeCacheRule(`routes[${index}].cache`, r.cache, problems),
      compress: normalizeCompressRule(`routes[${index}].compress`, r.compress, problems),
      grpcWeb: r.grpcWeb ?? DEFAULT_GRPC_WEB
    }
  })
  checkClashes(normalized, problems)
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

/** Fastify refuses two routes with one path, host and method; say which config entries clash. */
function checkClashes (routes: readonly GatewayRoute[], problems: string[]): void {
  const declared = new Map<string, number>()
  for (const r of routes) {
    for (const m of r.methods ?? ROUTE_METHODS) {
      const key = `${m} ${r.host ?? ''} ${r.path}`
      const prev = declared.get(key)
      if (prev !== undefined && prev !== r.index) {
        problems.push(`routes[${r.index}].match: same path, host and method ${m} as routes[${prev}]`)
        break
      }
      declared.set(key, r.index)
    }
  }
}
