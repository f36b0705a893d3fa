import { Pool, type Dispatcher } from 'undici'
import { applyTarget } from './upstream-target'

export interface PoolOptions {
  connections: number
  connectTimeout: number
}

interface Entry {
  pool: Pool
  options: PoolOptions
}

/**
 * Keep-alive connection pools to the backends, one undici Pool per origin, shared by every
 * upstream that lists that origin. reply-from is given this object as its undici instance:
 * it calls request() with the origin that getUpstream chose, and we hand the request to
 * that origin's pool.
 */
export class OriginPools {
  private readonly pools = new Map<string, Entry>()

  /** reply-from's requestable interface. */
  request (opts: Dispatcher.RequestOptions & { origin: string }, cb: (err: Error | null, data?: Dispatcher.ResponseData) => void): void {
    applyTarget(opts)
    const entry = this.pools.get(opts.origin)
    if (entry === undefined) {
      // Only a backend that a reload removed between selection and dispatch gets here; nothing was sent.
      process.nextTick(cb, Object.assign(new Error('no connection pool for origin'), { code: 'ECONNREFUSED' }))
      return
    }
    entry.pool.request(opts, cb as never)
  }

  /**
   * Makes the pools match the wanted set. A pool whose options changed is replaced: new
   * requests go to the new one while the old one finishes its in-flight requests and then
   * closes (undici's Pool.close waits for them). Pools no longer wanted close the same way.
   */
  sync (wanted: ReadonlyMap<string, PoolOptions>): void {
    for (const [origin, entry] of this.pools) {
      if (!wanted.has(origin)) {
        this.pools.delete(origin)
        entry.pool.close().catch(() => {})
      }
    }
    for (const [origin, options] of wanted) {
      const entry = this.pools.get(origin)
      if (entry === undefined) {
        this.pools.set(origin, { pool: this.create(origin, options), options })
      } else if (entry.options.connections !== options.connections || entry.options.connectTimeout !== options.connectTimeout) {
        const old = entry.pool
        entry.pool = this.create(origin, options)
        entry.options = options
        old.close().catch(() => {})
      }
    }
  }

  async close (): Promise<void> {
    const pools = [...this.pools.values()].map(e => e.pool)
    this.pools.clear()
    await Promise.all(pools.map(p => p.destroy().catch(() => {})))
  }

  private create (origin: string, options: PoolOptions): Pool {
    return new Pool(origin, {
      connections: options.connections,
      connect: { timeout: options.connectTimeout },
      pipelining: 1
    })
  }
}

/** When several groups list one origin, its pool takes the larger connection count and the shorter connect timeout. */
export function mergePoolOptions (a: PoolOptions, b: PoolOptions): PoolOptions {
  return {
    connections: Math.max(a.connections, b.connections),
    connectTimeout: Math.min(a.connectTimeout, b.connectTimeout)
  }
}
