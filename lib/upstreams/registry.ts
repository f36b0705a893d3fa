import { EventEmitter } from 'node:events'
import type { NormalizedConfig, ServerOptions, UpstreamOptions } from '../config'
import type { Backend } from './backend'
import { mergePoolOptions, OriginPools, type PoolOptions } from '../proxy/origin-pools'
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
 * Emits 'update' (upstreams: Upstream[]) after every change so that health checks can follow,
 * and 'ejected' (upstream, backend) when passive checks eject a server.
 */
export class UpstreamRegistry extends EventEmitter {
  private readonly groups = new Map<string, Upstream>()
  readonly pools = new OriginPools()

  constructor (config: NormalizedConfig, private readonly random?: () => number) {
    super()
    for (const [name, options] of config.upstreams) this.groups.set(name, this.create(options))
    this.pools.sync(this.wantedPools())
  }

  /** Emits 'ejected' (upstream, backend) when passive checks eject a server of any group. */
  private create (options: UpstreamOptions): Upstream {
    const upstream = new Upstream(options, this.random)
    upstream.onEjected = backend => this.emit('ejected', upstream, backend)
    return upstream
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
        this.groups.set(name, this.create(options))
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

  /**
   * Replaces one group's servers at run time (the admin API), through the same
   * update a reload makes, so unchanged servers keep their state. A server added this way to
   * a group with health checks starts unhealthy: it takes traffic once its checks pass.
   */
  setServers (name: string, servers: ServerOptions[]): { added: Backend[], removed: Backend[] } {
    const upstream = this.groups.get(name)
    if (upstream === undefined) throw new Error(`no upstream "${name}"`)
    const diff = upstream.update({ ...upstream.options, servers })
    if (upstream.options.healthCheck !== undefined) {
      for (const b of diff.added) b.healthy = false
      upstream.backends.markChanged()
    }
    this.pools.sync(this.wantedPools())
    this.emit('update', this.all())
    return diff
  }

  /** Tells the health checks that a server's admin state changed (maint stops its checks). */
  notify (): void {
    this.emit('update', this.all())
  }

  async close (): Promise<void> {
    await this.pools.close()
  }

  private wantedPools (): Map<string, PoolOptions> {
    const wanted = new Map<string, PoolOptions>()
    for (const upstream of this.groups.values()) {
      const { connections, queueTimeout, tls, proxyProtocol } = upstream.options
      const connectTimeout = upstream.options.timeouts.connect
      // Keyed as the servers' requests are sent (Backend.poolKey): by origin, TLS settings, PROXY protocol and resolved name.
      for (const b of upstream.backends.all()) {
        const mine: PoolOptions = { origin: b.origin, connections, connectTimeout, queueTimeout, tls, proxyProtocol, hostname: b.hostname }
        const prev = wanted.get(b.poolKey)
        wanted.set(b.poolKey, prev === undefined ? mine : mergePoolOptions(prev, mine))
      }
    }
    return wanted
  }
}

function sameOptions (a: UpstreamOptions, b: UpstreamOptions): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
