import { EventEmitter } from 'node:events'
import type { NormalizedConfig, UpstreamOptions } from './config'
import { mergePoolOptions, OriginPools, type PoolOptions } from './origin-pools'
import { Upstream } from './upstream'

export interface ReloadSummary {
  added: string[]
  removed: string[]
  changed: string[]
  serversAdded: string[]
  serversRemoved: string[]
}

/**
 * Every upstream group and the connection pools behind them. A reload goes through here:
 * groups and servers that did not change keep their objects, and so their state.
 * Emits 'update' (upstreams: Upstream[]) after every change so that health checks can follow.
 */
export class UpstreamRegistry extends EventEmitter {
  private readonly groups = new Map<string, Upstream>()
  readonly pools = new OriginPools()

  constructor (config: NormalizedConfig, private readonly random?: () => number) {
    super()
    for (const [name, options] of config.upstreams) this.groups.set(name, new Upstream(options, random))
    this.pools.sync(this.wantedPools())
  }

  get (name: string): Upstream | undefined {
    return this.groups.get(name)
  }

  all (): Upstream[] {
    return [...this.groups.values()]
  }

  apply (config: NormalizedConfig): ReloadSummary {
    const summary: ReloadSummary = { added: [], removed: [], changed: [], serversAdded: [], serversRemoved: [] }
    for (const [name, upstream] of this.groups) {
      if (config.upstreams.has(name)) continue
      this.groups.delete(name)
      summary.removed.push(name)
      for (const b of upstream.backends.all()) b.draining = true
      upstream.backends.markChanged()
    }
    for (const [name, options] of config.upstreams) {
      const existing = this.groups.get(name)
      if (existing === undefined) {
        this.groups.set(name, new Upstream(options, this.random))
        summary.added.push(name)
        continue
      }
      if (sameOptions(existing.options, options)) continue
      const { added, removed } = existing.update(options)
      summary.changed.push(name)
      summary.serversAdded.push(...added.map(b => `${name}/${b.id}`))
      summary.serversRemoved.push(...removed.map(b => `${name}/${b.id}`))
    }
    this.pools.sync(this.wantedPools())
    this.emit('update', this.all())
    return summary
  }

  async close (): Promise<void> {
    await this.pools.close()
  }

  private wantedPools (): Map<string, PoolOptions> {
    const wanted = new Map<string, PoolOptions>()
    for (const upstream of this.groups.values()) {
      const mine = { connections: upstream.options.connections, connectTimeout: upstream.options.timeouts.connect, queueTimeout: upstream.options.queueTimeout, tls: upstream.options.tls }
      for (const s of upstream.options.servers) {
        const prev = wanted.get(s.origin)
        wanted.set(s.origin, prev === undefined ? mine : mergePoolOptions(prev, mine))
      }
    }
    return wanted
  }
}

function sameOptions (a: UpstreamOptions, b: UpstreamOptions): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
