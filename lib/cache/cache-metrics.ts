import { Counter, type Registry } from 'prom-client'
import type { ResponseCache } from './response-cache'

/** gatehouse_cache_total{upstream,result}: read from the cache's own counts at scrape time, as lib/admin/metrics.ts reads the groups'. */
export function addCacheMetrics (registry: Registry, cache: ResponseCache): void {
  new Counter({
    name: 'gatehouse_cache_total',
    help: 'Requests to cached routes by what the cache did: hit, miss, stale, bypass or revalidated.',
    labelNames: ['upstream', 'result'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [upstream, result, n] of cache.stats.samples()) this.inc({ upstream, result: result.toLowerCase() }, n)
    }
  })
}
