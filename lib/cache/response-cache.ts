import type CachePolicy from 'http-cache-semantics'
import { CacheStore } from './store'
import { Coalescer } from './coalescer'
import { CacheStats } from './stats'
import { purgeMatch } from './key'
import { policyMaker, type Clock, type PolicyRequest } from './policy'

/**
 * The gateway's one response cache, framework-free: the store, the coalescer, the counts and
 * the clock every freshness decision reads (replaceable, so that tests move time instead of
 * sleeping). plugins/policies/cache.ts drives it from the request hooks; the admin API purges it.
 */
export class ResponseCache {
  readonly store: CacheStore
  readonly coalescer = new Coalescer()
  readonly stats = new CacheStats()
  readonly clock: Clock = { now: () => Date.now() }
  readonly policy: (req: PolicyRequest, res: CachePolicy.Response) => CachePolicy

  constructor (maxSize: number) {
    this.store = new CacheStore(maxSize)
    this.policy = policyMaker(this.clock)
  }

  /** Drops what `url` names ("http://host/path?q", or "/path?q" for every host), or everything under it with `prefix`; undefined for a URL it cannot read. */
  purge (url: string, prefix = false): number | undefined {
    const match = purgeMatch(url, prefix)
    return match === undefined ? undefined : this.store.purge(match)
  }
}
