import type { AdminState } from '../upstreams/backend'
import { ADMIN_STATES } from '../upstreams/backend'

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
