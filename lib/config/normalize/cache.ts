import type { CacheConfig, CacheRuleConfig } from '../schema'
import type { CacheOptions, CacheRule, CacheSettings, GatewayRoute, NormalizedConfig } from '../types'
import { DEFAULT_CACHE } from '../defaults'
import { parseDuration } from '../duration'
import { parseSize } from '../size'
import { timerMs } from '../values'
import { layered } from './layers'

/** The top-level `cache`: undefined when absent or false (routes and upstreams may still turn it on). */
export function normalizeCache (cache: CacheConfig | undefined, problems: string[]): CacheOptions | undefined {
  if (cache === undefined || cache === false) return undefined
  const maxSize = cache.maxSize === undefined ? DEFAULT_CACHE.maxSize : parseSize(cache.maxSize)
  if (maxSize < 1) problems.push('cache.maxSize: must be at least 1 byte')
  const rule = normalizeCacheRule('cache', cache, problems) as CacheRule
  if ((rule.maxEntrySize ?? DEFAULT_CACHE.maxEntrySize) > maxSize) problems.push(`cache.maxEntrySize: must not be above cache.maxSize (${maxSize} bytes)`)
  return { maxSize, ...rule }
}

/** An upstream's or a route's `cache`: false turns it off there; only the keys given are kept, to be merged. */
export function normalizeCacheRule (path: string, rule: CacheRuleConfig | undefined, problems: string[]): CacheRule | false | undefined {
  if (rule === undefined || rule === false) return rule
  const out: CacheRule = {}
  if (rule.maxEntrySize !== undefined) out.maxEntrySize = parseSize(rule.maxEntrySize)
  if (rule.staleIfError !== undefined) out.staleIfError = parseDuration(rule.staleIfError)
  if (rule.staleWhileRevalidate !== undefined) out.staleWhileRevalidate = parseDuration(rule.staleWhileRevalidate)
  if (rule.lockTimeout !== undefined) out.lockTimeout = timerMs(problems, `${path}.lockTimeout`, parseDuration(rule.lockTimeout))
  return out
}

/** What a route caches with, or undefined when it does not (lib/config/normalize/layers.ts says how the three levels merge). */
export function routeCache (config: Pick<NormalizedConfig, 'cache' | 'upstreams'>, route: GatewayRoute): CacheSettings | undefined {
  // A redirect route answers without a backend: nothing to cache.
  if (route.upstream === undefined) return undefined
  let top: CacheRule | undefined
  if (config.cache !== undefined) {
    const { maxSize: _top, ...rule } = config.cache
    top = rule
  }
  const rule = layered(top, config.upstreams.get(route.upstream)?.cache, route.cache)
  return rule === undefined ? undefined : { ...DEFAULT_CACHE_SETTINGS, ...rule }
}

/** Bytes the one store may hold: the top level's maxSize, or the default when only routes or upstreams turn the cache on. */
export function cacheMaxSize (config: Pick<NormalizedConfig, 'cache'>): number {
  return config.cache?.maxSize ?? DEFAULT_CACHE.maxSize
}

const { maxSize: _unused, ...DEFAULT_CACHE_SETTINGS } = DEFAULT_CACHE
