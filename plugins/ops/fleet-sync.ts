import Redis from 'ioredis'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import {
  decodeVersioned, encodeDesired, fieldOf,
  FLEET_CHANNEL, FLEET_RECONCILE_MS, FLEET_RETRY_MAX_MS, FLEET_STATE_KEY, FLEET_VERSION_KEY, FLEET_WRITE_SCRIPT,
  type DesiredServer, type VersionedServer
} from '../../lib/admin/fleet-state'
import { desiredAfter, reconcileServer } from '../../lib/admin/fleet-reconcile'
import { fromFleet } from '../../lib/admin/fleet-sync'
import {
  decodeVersionedSplit, desiredSplitAfter, FLEET_SPLITS_KEY, isOwnSplitChange, isSplitField, reconcileSplit, splitField,
  type DesiredSplit, type VersionedSplit
} from '../../lib/admin/fleet-splits'
import type { SplitChange } from '../../lib/routing/split-table'
import type { RuntimeChange } from '../../lib/upstreams/runtime-servers'
import { redactUrl } from '../../lib/config/export'

export interface FleetSyncOptions {
  url: string
}

type FleetRedis = Redis & { fleetWrite: (state: string, version: string, field: string, value: string, channel: string) => Promise<number> }

/** One field of the shared state: a server's (the servers' hash) or a split route's weights (the splits' hash). */
type Desired = DesiredServer | DesiredSplit
type Versioned = VersionedServer | VersionedSplit

const isSplit = (desired: Desired): desired is DesiredSplit => 'route' in desired
const hashOf = (field: string) => isSplitField(field) ? FLEET_SPLITS_KEY : FLEET_STATE_KEY
const decodeFor = (field: string, text: string | null | undefined): Versioned | undefined =>
  isSplitField(field) ? decodeVersionedSplit(text) : decodeVersioned(text)

/**
 * `admin.sync`: the instances sharing one Redis converge on the same runtime state. Redis
 * holds the desired state of every server a runtime change touched (and the weights of every
 * split route one touched), versioned by one INCR
 * counter; each instance reconciles its servers to it: at start, after a reload, on every
 * reconnect, on a nudge from the channel, and whenever the counter moved since it last read
 * it. Nothing is replayed, so nothing missed is lost: the state is read again. While Redis
 * is away every instance keeps its state and its own changes are kept to be written on
 * Redis's return; the outage is logged once, its end once.
 */
export default async function fleetSync (fastify: FastifyInstance, opts: FleetSyncOptions) {
  const instance = randomUUID()
  const { runtime, registry, splits } = fastify.gatehouse
  // Commands fail at once while Redis is away (no offline queue): the instance keeps its state
  // and the write waits in `pending`, coalesced per server, instead of in an unbounded queue.
  const options = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    retryStrategy: (n: number) => Math.min(n * 50, FLEET_RETRY_MAX_MS),
    // Subscribed again by hand on 'ready', then the state read: a write between the two is
    // then either announced or in what is read.
    autoResubscribe: false
  }
  const cmd = new Redis(opts.url, options) as FleetRedis
  const sub = new Redis(opts.url, { ...options, enableOfflineQueue: true })
  cmd.defineCommand('fleetWrite', { numberOfKeys: 2, lua: FLEET_WRITE_SCRIPT })
  const where = redactUrl(opts.url)

  /** The shared state as last read from Redis. */
  let known = new Map<string, Versioned>()
  /** The counter's value at the last full read; -1 before any. */
  let readVersion = -1
  /** Local changes not yet acknowledged by Redis, the latest per server or split route. */
  const pending = new Map<string, Desired>()
  let closed = false
  let firstReadDone = () => {}
  const firstRead = new Promise<void>(resolve => { firstReadDone = resolve })

  let down = false
  const failed = (err: Error) => {
    if (down || closed) return
    down = true
    fastify.log.warn({ sync: where, error: err.message }, 'fleet sync: Redis is unavailable; keeping the current state')
  }
  const back = () => {
    if (!down) return
    down = false
    fastify.log.info({ sync: where }, 'fleet sync: Redis is back')
  }
  cmd.on('error', failed)
  sub.on('error', failed)

  // Failures that retrying will not cure (the last primary, a url this group refuses) are
  // logged once per version, not once per reconcile.
  const refused = new Map<string, number>()
  const apply = (desired: Desired) => isSplit(desired)
    ? reconcileSplit(splits, fastify.gatehouse.config.routes, desired)
    : reconcileServer(runtime, registry, desired)
  const reconcile = (field: string): boolean => {
    // A local change not yet in Redis is newer than anything read: do not undo it meanwhile.
    if (pending.has(field)) return false
    const entry = known.get(field)
    if (entry === undefined) return false
    try {
      return apply(entry.desired) === 'applied'
    } catch (err) {
      if (refused.get(field) !== entry.version) {
        refused.set(field, entry.version)
        const what = isSplit(entry.desired) ? { route: entry.desired.route } : { upstream: entry.desired.upstream, server: entry.desired.server }
        fastify.log.warn({ sync: where, ...what, error: (err as Error).message }, 'fleet sync: a shared change does not apply here')
      }
      return false
    }
  }
  const reconcileAll = (): number => {
    let applied = 0
    for (const field of known.keys()) if (reconcile(field)) applied++
    return applied
  }

  const remember = (field: string, entry: Versioned) => {
    const current = known.get(field)
    if (current !== undefined && current.version >= entry.version) return false
    known.set(field, entry)
    return true
  }

  const write = (field: string, desired: Desired) => {
    // Sent in order on one connection, so two changes to one server reach Redis in the order made.
    const value = isSplit(desired) ? JSON.stringify(desired) : encodeDesired(desired)
    cmd.fleetWrite(hashOf(field), FLEET_VERSION_KEY, field, value, FLEET_CHANNEL).then(version => {
      if (pending.get(field) === desired) pending.delete(field)
      remember(field, { version, desired } as Versioned)
      back()
    }, failed)
  }

  // One full read at a time; a request meanwhile runs once more after it.
  let reading: Promise<void> | undefined
  let again = false
  const readAll = async (): Promise<void> => {
    if (reading !== undefined) {
      again = true
      return await reading
    }
    reading = (async () => {
      do {
        again = false
        const replies = await cmd.multi().get(FLEET_VERSION_KEY).hgetall(FLEET_STATE_KEY).hgetall(FLEET_SPLITS_KEY).exec()
        if (replies === null) throw new Error('the read was aborted')
        for (const [err] of replies) if (err !== null) throw err
        const version = Number(replies[0][1] ?? 0)
        const hash = { ...replies[1][1] as Record<string, string>, ...replies[2][1] as Record<string, string> }
        // Redis is the truth: what it no longer holds (it restarted empty) is forgotten, and an
        // instance's servers stay as they are.
        const next = new Map<string, Versioned>()
        for (const [field, text] of Object.entries(hash)) {
          const entry = decodeFor(field, text)
          if (entry !== undefined) next.set(field, entry)
        }
        known = next
        readVersion = version
        const applied = reconcileAll()
        if (applied > 0) fastify.log.info({ sync: where, applied, of: known.size }, 'fleet sync: shared runtime state applied')
        firstReadDone()
        back()
      } while (again && !closed)
    })().finally(() => { reading = undefined })
    return await reading
  }
  // Only on a ready connection: commands fail at once otherwise, and its 'ready' reads anyway.
  const sync = () => { if (cmd.status === 'ready') readAll().catch(failed) }

  const flush = () => {
    for (const [field, desired] of pending) write(field, desired)
  }

  sub.on('message', (_channel: string, text: string) => {
    const nl = text.indexOf('\n')
    const version = Number(text.slice(0, nl))
    const field = text.slice(nl + 1)
    if ((known.get(field)?.version ?? -1) >= version || cmd.status !== 'ready') return
    cmd.hget(hashOf(field), field).then(value => {
      const entry = decodeFor(field, value)
      if (entry !== undefined && remember(field, entry)) reconcile(field)
    }, failed)
  })

  const onChange = (change: RuntimeChange) => {
    if (fromFleet(change)) return
    const desired = desiredAfter(change, registry, fastify.gatehouse.config, instance)
    if (desired === undefined) return
    const field = fieldOf(change.upstream, change.server)
    pending.set(field, desired)
    if (cmd.status === 'ready') write(field, desired)
  }
  const onSplitChange = (change: SplitChange) => {
    if (!isOwnSplitChange(change)) return
    const desired = desiredSplitAfter(change, fastify.gatehouse.config.routes, instance)
    if (desired === undefined) return
    const field = splitField(change.route)
    pending.set(field, desired)
    if (cmd.status === 'ready') write(field, desired)
  }

  // A reload makes the file the truth and drops the local runtime changes; the shared state
  // is then put back over it, from what was last read (Redis may be away), once the new
  // config is in place: reset() runs inside reload(), before the new config is applied.
  const onReset = () => {
    queueMicrotask(() => {
      if (closed) return
      // Local changes not yet written (Redis away) are runtime changes too: put back as well.
      for (const desired of pending.values()) {
        try { apply(desired) } catch {}
      }
      const applied = reconcileAll()
      fastify.log.info({ sync: where, applied, of: known.size }, 'fleet sync: shared runtime state re-applied after the reload')
      sync()
    })
  }

  cmd.on('ready', () => {
    if (closed) return
    flush()
    sync()
  })
  sub.on('ready', () => {
    if (closed) return
    // Messages sent while it was away are lost: subscribe, then read everything.
    sub.subscribe(FLEET_CHANNEL).then(sync, failed)
  })

  // The backstop: one GET a second, the whole state read only when the counter moved; and the
  // local servers brought to what was read, for what could not be done at once (a server
  // re-added once its removal drained).
  const timer = setInterval(() => {
    reconcileAll()
    if (cmd.status !== 'ready' || reading !== undefined) return
    cmd.get(FLEET_VERSION_KEY).then(value => {
      if (Number(value ?? 0) !== readVersion) sync()
    }, failed)
  }, FLEET_RECONCILE_MS)
  timer.unref()

  runtime.on('change', onChange)
  runtime.on('reset', onReset)
  splits.on('change', onSplitChange)
  // A starter serves with the shared state from its first request when Redis answers within
  // a second; otherwise it starts with the file's and catches up on Redis's return.
  fastify.addHook('onReady', async () => {
    let timeout: NodeJS.Timeout | undefined
    await Promise.race([firstRead, new Promise<void>(resolve => { timeout = setTimeout(resolve, 1_000) })])
    clearTimeout(timeout)
  })

  fastify.addHook('onClose', async () => {
    closed = true
    clearInterval(timer)
    runtime.off('change', onChange)
    runtime.off('reset', onReset)
    splits.off('change', onSplitChange)
    for (const r of [cmd, sub]) {
      if (r.status === 'ready') await r.quit().catch(() => r.disconnect())
      else r.disconnect()
    }
  })
}
