/** What the cache did with a request, as `x-cache` says it (nginx's $upstream_cache_status names). */
export type CacheResult = 'HIT' | 'MISS' | 'STALE' | 'BYPASS' | 'REVALIDATED'

export const CACHE_RESULTS: readonly CacheResult[] = ['HIT', 'MISS', 'STALE', 'BYPASS', 'REVALIDATED']

/** Counts of each result per upstream group, read by /metrics at scrape time. */
export class CacheStats {
  private readonly by = new Map<string, Record<CacheResult, number>>()

  count (upstream: string, result: CacheResult): void {
    let counts = this.by.get(upstream)
    if (counts === undefined) {
      counts = { HIT: 0, MISS: 0, STALE: 0, BYPASS: 0, REVALIDATED: 0 }
      this.by.set(upstream, counts)
    }
    counts[result]++
  }

  * samples (): Iterable<[string, CacheResult, number]> {
    for (const [upstream, counts] of this.by) for (const result of CACHE_RESULTS) yield [upstream, result, counts[result]]
  }
}
