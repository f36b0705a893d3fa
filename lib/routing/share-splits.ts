import type { SplitChange, SplitTable } from './split-table'
import { splitWeightsProblem } from '../config/normalize/split'

/** What a worker's channel to the primary offers (lib/cluster/worker-channel.ts). */
interface Bus {
  broadcast (topic: string, data: unknown, retain?: string): void
  on (topic: string, fn: (data: unknown, from: number) => void): void
}

/**
 * Under `gatehouse --workers N` the admin API runs in one worker: a split's new weights go
 * to every other one over the bus, retained per route by the primary so that a worker
 * started later applies the latest too, until a reload (whose own weights every worker reads
 * from the file) drops them. A change that came over the bus is marked and not sent again.
 */
export function shareSplitChanges (splits: SplitTable, bus: Bus, names: { topic: string, retain: string, marker: string }): void {
  splits.on('change', (change: SplitChange) => {
    if (change.by === 'reload' || change.by.startsWith(`${names.marker}:`)) return
    bus.broadcast(names.topic, { route: change.route, after: change.after }, `${names.retain}${change.route}`)
  })
  bus.on(names.topic, (data, from) => {
    const { route, after } = data as { route: number, after: Array<{ name: string, weight: number }> }
    const split = splits.get(route)
    if (split === undefined || !Array.isArray(after)) return
    const weights = Object.fromEntries(after.map(t => [t.name, t.weight]))
    // Another worker's file may differ during a rolling change: apply only what fits this one's routes.
    if (splitWeightsProblem(split.list(), weights) !== undefined) return
    splits.set(route, weights, `${names.marker}:${from}`)
  })
}
