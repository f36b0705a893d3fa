import type { AdminState } from '../upstreams/backend'
import { ADMIN_STATES } from '../upstreams/backend'
import type { NormalizedConfig } from '../config'
import type { UpstreamRegistry } from '../upstreams/registry'
import type { RuntimeChange, RuntimeServers } from '../upstreams/runtime-servers'

/**
 * The fleet's desired runtime state: one hash field per server that a runtime change touched,
 * its value the server's whole desired state and the version Redis gave the write. Bounded by
 * the number of servers, not of changes.
 */
export const FLEET_STATE_KEY = 'gatehouse:fleet:servers'
/** The counter (INCR) that orders every write: the fleet's one clock. */
export const FLEET_VERSION_KEY = 'gatehouse:fleet:version'
/** Where a write is announced: a nudge to read the field, never the data itself. */
export const FLEET_CHANNEL = 'gatehouse:fleet'
/**
 * How often an instance asks whether the version moved (a GET), and reads the whole state
 * when it did: the backstop for a nudge lost without the connection dropping.
 */
export const FLEET_RECONCILE_MS = 1_000
/**
 * The longest wait between two reconnect attempts while Redis is away: a cut-off instance
 * catches up within this much (plus one round trip) of Redis's return.
 */
export const FLEET_RETRY_MAX_MS = 250

/**
 * One write, atomic in Redis: take the next version, store the server's desired state under
 * it, announce it. Scripts run one at a time, so the version order is the order the writes
 * took effect in: of two writes to one server, the one with the higher version is the one
 * the hash keeps, everywhere.
 */
export const FLEET_WRITE_SCRIPT = `
local version = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], version .. '\\n' .. ARGV[2])
redis.call('PUBLISH', ARGV[3], version .. '\\n' .. ARGV[1])
return version
`

/** A server's desired runtime state, as the last change to it on any instance left it. */
export interface DesiredServer {
  upstream: string
  server: string
  url: string
  weight: number
  backup: boolean
  state: AdminState
  removed: boolean
  /** Added through the admin API, not a server of the file: re-added where it is missing. */
  added: boolean
  /** The instance that made the change. */
  instance: string
}

export interface VersionedServer {
  version: number
  desired: DesiredServer
}

/** A server's hash field: upstream and id both, unambiguous whatever they hold. */
export function fieldOf (upstream: string, server: string): string {
  return JSON.stringify([upstream, server])
}

export function encodeDesired (desired: DesiredServer): string {
  return JSON.stringify(desired)
}

/** A hash value (`version\njson`) read back; undefined for anything else (another writer's data, say). */
export function decodeVersioned (text: string | null | undefined): VersionedServer | undefined {
  if (typeof text !== 'string') return undefined
  const nl = text.indexOf('\n')
  const version = Number(text.slice(0, nl))
  if (nl < 1 || !Number.isSafeInteger(version)) return undefined
  try {
    const d = JSON.parse(text.slice(nl + 1)) as DesiredServer
    const ok = typeof d.upstream === 'string' && typeof d.server === 'string' && typeof d.url === 'string' &&
      typeof d.weight === 'number' && typeof d.backup === 'boolean' && (ADMIN_STATES as readonly string[]).includes(d.state) &&
      typeof d.removed === 'boolean' && typeof d.added === 'boolean' && typeof d.instance === 'string'
    return ok ? { version, desired: d } : undefined
  } catch {
    return undefined
  }
}

/**
 * What a local change leaves a server at, whole (url, weight, backup, state, removed): a write
 * replaces the server's previous one, so that two changes at once leave one of the two, the
 * same on every instance, never a mix. Undefined when the server is not there to read.
 */
export function desiredAfter (change: RuntimeChange, registry: UpstreamRegistry, config: NormalizedConfig, instance: string): DesiredServer | undefined {
  const backend = registry.get(change.upstream)?.backends.get(change.server)
  if (backend === undefined) return undefined
  const inFile = config.upstreams.get(change.upstream)?.servers.some(s => s.id === change.server) === true
  return {
    upstream: change.upstream,
    server: change.server,
    url: backend.url,
    weight: backend.weight,
    backup: backend.backup,
    state: change.action === 'remove' ? 'drain' : backend.adminState,
    removed: change.action === 'remove',
    added: !inFile,
    instance
  }
}

export type ReconcileResult = 'same' | 'applied' | 'skipped'

/**
 * Brings one local server to its desired state through the same RuntimeServers calls the
 * admin API makes (validated, logged as `admin change`, counted), marked as coming from the
 * fleet so that they are not written back. Compares what is with what should be, so applying
 * the same state twice does nothing, and something under way (a removal draining) is met by a
 * later call. A server this config does not have (its group is gone, or a reload removed a
 * server of the file) is skipped; throws what RuntimeServers throws (the last primary, say).
 */
export function reconcileServer (runtime: RuntimeServers, registry: UpstreamRegistry, desired: DesiredServer): ReconcileResult {
  const by = `fleet:${desired.instance}`
  const upstream = registry.get(desired.upstream)
  if (upstream === undefined) return 'skipped'
  const backend = upstream.backends.get(desired.server)
  const present = backend !== undefined && !backend.draining
  if (desired.removed) {
    if (!present || runtime.isRemoving(backend)) return 'same'
    runtime.remove(desired.upstream, desired.server, by)
    return 'applied'
  }
  if (!present) {
    if (!desired.added || backend !== undefined) return 'skipped'
    runtime.add(desired.upstream, { url: desired.url, id: desired.server, weight: desired.weight, backup: desired.backup }, by)
    if (desired.state !== 'ready') runtime.update(desired.upstream, desired.server, { state: desired.state }, by)
    return 'applied'
  }
  if (desired.added && backend.url !== desired.url) {
    // The same id added with another url elsewhere, later: this one drains out, and the
    // next reconcile adds the shared one once it is gone.
    if (runtime.isRemoving(backend)) return 'same'
    runtime.remove(desired.upstream, desired.server, by)
    return 'applied'
  }
  const patch: { weight?: number, state?: AdminState } = {}
  if (backend.weight !== desired.weight) patch.weight = desired.weight
  // A pending removal is cancelled by a state: the later write kept the server.
  if (backend.adminState !== desired.state || runtime.isRemoving(backend)) patch.state = desired.state
  if (patch.weight === undefined && patch.state === undefined) return 'same'
  runtime.update(desired.upstream, desired.server, patch, by)
  return 'applied'
}

/** A change as it is passed on between the workers of one machine: who made it and the change itself. */
export interface FleetMessage {
  instance: string
  change: RuntimeChange
}

/**
 * Applies a change another process made, through the same RuntimeServers calls the admin
 * API makes, marked as coming from the fleet so that it is not passed on again. A change that
 * no longer applies here (a server already added, a group this config does not have) is
 * skipped: returns false.
 */
export function applyFleetChange (runtime: RuntimeServers, msg: FleetMessage): boolean {
  const { change } = msg
  const by = `fleet:${msg.instance}`
  try {
    if (change.action === 'add') {
      runtime.add(change.upstream, { ...change.after, id: change.server }, by)
    } else if (change.action === 'update') {
      runtime.update(change.upstream, change.server, change.after, by)
    } else {
      runtime.remove(change.upstream, change.server, by)
    }
    return true
  } catch {
    return false
  }
}

/** Whether a change came from the fleet (and so must not be written again). */
export function fromFleet (change: RuntimeChange): boolean {
  return change.by.startsWith('fleet:')
}
