import type { GatewayRoute, SplitTarget } from '../config'
import type { SplitChange, SplitTable } from '../routing/split-table'
import type { ReconcileResult } from './fleet-reconcile'

/**
 * The weights of split routes that a runtime change (PATCH /routes/N/split) touched, one hash
 * field per route, versioned by the same counter as the servers (FLEET_VERSION_KEY): a split
 * is one more piece of the fleet's desired state, reconciled to in the same way. A hash of its
 * own, so that an instance of an earlier version, which reads only the servers' hash, never
 * sees a value it cannot decode.
 */
export const FLEET_SPLITS_KEY = 'gatehouse:fleet:splits'

/** A split route's desired weights, as the last change to it on any instance left them. */
export interface DesiredSplit {
  route: number
  /** The route's path where the change was made: an instance whose route N is another skips it. */
  path: string
  weights: SplitTarget[]
  instance: string
}

export interface VersionedSplit {
  version: number
  desired: DesiredSplit
}

const PREFIX = 'route:'

/** A split's field; never mistaken for a server's, which is a JSON array. */
export function splitField (route: number): string {
  return `${PREFIX}${route}`
}

export function isSplitField (field: string): boolean {
  return field.startsWith(PREFIX)
}

/**
 * Whether a change of weights is this instance's own, to be shared: not a reload (the file's,
 * which every instance reads from its own), not one applied from the fleet, and not one
 * another worker of this machine made and passed on over the worker bus, marked `worker:<id>`
 * by plugins/ops/workers.ts (that worker shares it).
 */
export function isOwnSplitChange (change: SplitChange): boolean {
  return change.by !== 'reload' && !change.by.startsWith('fleet:') && !change.by.startsWith('worker:')
}

export function desiredSplitAfter (change: SplitChange, routes: readonly GatewayRoute[], instance: string): DesiredSplit | undefined {
  const path = routes[change.route]?.path
  if (path === undefined) return undefined
  return { route: change.route, path, weights: change.after.map(t => ({ name: t.name, weight: t.weight })), instance }
}

/** A hash value (`version\njson`) read back; undefined for anything else. */
export function decodeVersionedSplit (text: string | null | undefined): VersionedSplit | undefined {
  if (typeof text !== 'string') return undefined
  const nl = text.indexOf('\n')
  const version = Number(text.slice(0, nl))
  if (nl < 1 || !Number.isSafeInteger(version)) return undefined
  try {
    const d = JSON.parse(text.slice(nl + 1)) as DesiredSplit
    const ok = Number.isSafeInteger(d.route) && typeof d.path === 'string' && typeof d.instance === 'string' &&
      Array.isArray(d.weights) && d.weights.length > 0 &&
      d.weights.every(w => w !== null && typeof w === 'object' && typeof w.name === 'string' && Number.isSafeInteger(w.weight) && w.weight >= 0) &&
      d.weights.some(w => w.weight > 0)
    return ok ? { version, desired: d } : undefined
  } catch {
    return undefined
  }
}

/**
 * Brings one split route's weights to the desired ones, through the same SplitTable call the
 * admin API makes (logged as `admin change`, by `fleet:<instance>`, so not written back). A
 * route this config does not have at that index, with that path and those groups (another
 * file during a rolling change), is skipped.
 */
export function reconcileSplit (splits: SplitTable, routes: readonly GatewayRoute[], desired: DesiredSplit): ReconcileResult {
  const split = splits.get(desired.route)
  if (split === undefined || routes[desired.route]?.path !== desired.path) return 'skipped'
  const names = split.names()
  if (names.length !== desired.weights.length || desired.weights.some(w => !names.includes(w.name))) return 'skipped'
  if (desired.weights.every(w => split.weightOf(w.name) === w.weight)) return 'same'
  splits.set(desired.route, Object.fromEntries(desired.weights.map(w => [w.name, w.weight])), `fleet:${desired.instance}`)
  return 'applied'
}
