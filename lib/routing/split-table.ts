import { EventEmitter } from 'node:events'
import type { GatewayRoute, SplitTarget } from '../config'

/**
 * The weights of one split route, as they are now (the config's, a reload's, or the admin
 * API's). The choice is weighted random, as Envoy's weighted_clusters draws a random number
 * per request: it needs no state shared between requests, workers or instances, and no
 * pattern in a client's requests can line up with it. A smooth weighted round robin (nginx's
 * upstream balancing) would give exact shares over each cycle of total-weight requests, but every
 * process would run the same cycle from the same start, in step after a restart, and a client
 * whose requests come in a fixed order could land each time on the same slot of it. nginx's
 * split_clients hashes a key (the client's address, say) instead: the same client always gets
 * the same group, but clients behind one address move together, and a change of weights moves
 * clients that were not due to move; here a sticky group holds a client with its own cookie.
 */
export class WeightedSplit {
  private targets: SplitTarget[]
  private total: number

  constructor (targets: readonly SplitTarget[]) {
    this.targets = targets.map(t => ({ ...t }))
    this.total = sum(this.targets)
  }

  /** A group, each with the probability weight / total. */
  choose (random: () => number = Math.random): string {
    let r = Math.floor(random() * this.total)
    for (const t of this.targets) {
      if (r < t.weight) return t.name
      r -= t.weight
    }
    // Only if random() returned 1, which Math.random never does.
    return this.targets[this.targets.length - 1].name
  }

  /** The weight of a group on this route; 0 for one that is not on it. */
  weightOf (name: string): number {
    for (const t of this.targets) if (t.name === name) return t.weight
    return 0
  }

  list (): SplitTarget[] {
    return this.targets.map(t => ({ ...t }))
  }

  names (): string[] {
    return this.targets.map(t => t.name)
  }

  set (weights: Readonly<Record<string, number>>): void {
    const next = this.targets.map(t => ({ name: t.name, weight: weights[t.name] ?? t.weight }))
    // Checked by the callers (config and admin API); kept here as the invariant choose() needs.
    if (sum(next) <= 0) throw new Error('a split needs a weight above 0')
    this.targets = next
    this.total = sum(next)
  }
}

export interface SplitChange {
  route: number
  before: SplitTarget[]
  after: SplitTarget[]
  by: string
}

/**
 * The weighted splits of the running routes, by route index. Routes are declared once, but
 * their weights change on a reload (a changed weight is no change of the route table,
 * lib/http/route-table.ts) and through the admin API, at once and without a restart. Each
 * change is a `change` event: logged, exported by GET /config, and shared with the other workers.
 */
export class SplitTable extends EventEmitter<{ change: [SplitChange] }> {
  private readonly splits = new Map<number, WeightedSplit>()

  constructor (routes: readonly GatewayRoute[]) {
    super()
    for (const r of routes) if (r.split !== undefined) this.splits.set(r.index, new WeightedSplit(r.split))
  }

  private onChange (change: SplitChange): void {
    this.emit('change', change)
  }

  get (index: number): WeightedSplit | undefined {
    return this.splits.get(index)
  }

  get size (): number {
    return this.splits.size
  }

  /** Every split route's index and weights, in route order. */
  all (): Array<{ route: number, split: SplitTarget[] }> {
    return [...this.splits].sort(([a], [b]) => a - b).map(([route, s]) => ({ route, split: s.list() }))
  }

  /** New weights for some of a route's groups (checked by the caller: lib/config/normalize/split.ts). */
  set (index: number, weights: Readonly<Record<string, number>>, by: string): SplitTarget[] {
    const split = this.splits.get(index)
    if (split === undefined) throw new Error(`routes[${index}] has no split`)
    const before = split.list()
    split.set(weights)
    const after = split.list()
    if (JSON.stringify(before) !== JSON.stringify(after)) this.onChange({ route: index, before, after, by })
    return after
  }

  /**
   * A reload's weights, for each running split route whose groups the new config lists the
   * same at the same index; returns the running routes with the weights now in force.
   */
  reload (running: readonly GatewayRoute[], next: readonly GatewayRoute[]): GatewayRoute[] {
    for (const [index, split] of this.splits) {
      const target = next[index]?.split
      if (target === undefined || JSON.stringify(target.map(t => t.name)) !== JSON.stringify(split.names())) continue
      const before = split.list()
      split.set(Object.fromEntries(target.map(t => [t.name, t.weight])))
      if (JSON.stringify(before) !== JSON.stringify(split.list())) this.onChange({ route: index, before, after: split.list(), by: 'reload' })
    }
    return this.withWeights(running)
  }

  /** The routes with the weights in force: what GET /config exports. */
  withWeights (routes: readonly GatewayRoute[]): GatewayRoute[] {
    return routes.map(r => {
      const split = this.splits.get(r.index)
      return split === undefined ? r : { ...r, split: split.list() }
    })
  }
}

function sum (targets: readonly SplitTarget[]): number {
  return targets.reduce((a, t) => a + t.weight, 0)
}

/** Each group's share of new clients in percent (two decimals), beside its weight: what GET /routes and the dashboard show. */
export function withShares (split: readonly SplitTarget[]): Array<SplitTarget & { percent: number }> {
  const total = sum(split)
  return split.map(t => ({ ...t, percent: total === 0 ? 0 : Math.round(t.weight / total * 10000) / 100 }))
}
