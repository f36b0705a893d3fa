import cluster, { type Worker } from 'node:cluster'
import { once } from 'node:events'
import { WorkerTable, type WorkerEntry } from './worker-table'
import { isGatehouseMessage, SLOT_ENV, type PrimaryMessage, type WorkerMessage } from './messages'
import { respawnDelay, STABLE_AFTER_MS } from './backoff'
import type { PrimaryLog } from './log'

/** What a worker is given past drainTimeout to exit on its own before it is killed. */
const DRAIN_GRACE_MS = 5_000
/** How long a metrics scrape waits for the other workers' share. */
const GATHER_TIMEOUT_MS = 1_000

export interface PrimaryOptions {
  count: number
  log: PrimaryLog
  /** Reads the config again; throws when it is refused. */
  drainTimeout: () => number
}

/**
 * The primary of `gatehouse --workers N`: it forks N workers (this same command, from the code
 * on disk when each starts), which share the listening port through node:cluster's round-robin
 * (the primary holds the socket, so it stays open while workers come and go). It replaces a
 * worker that dies, with backoff if its slot keeps dying; replaces every worker one at a time
 * on demand, each new one ready before its predecessor drains; relays bus messages between
 * workers; answers their questions (the worker table for GET /workers).
 */
export class Primary {
  readonly table = new WorkerTable()
  deaths = 0
  private stopping = false
  private rolling: Promise<boolean> | undefined
  private readonly quickDeaths = new Map<number, number>()
  private readonly gathering = new Map<number, (entry: WorkerEntry, data: unknown) => void>()
  private nextGather = 1
  /** Bus messages a worker started later must see too (runtime changes, health verdicts), by key. */
  private readonly retained = new Map<string, { topic: string, data: unknown, from?: number }>()
  private readonly log: PrimaryLog

  constructor (private readonly opts: PrimaryOptions) {
    this.log = opts.log
    // Round-robin through the primary, on every platform (bench/RESULTS.md: connections waiting
    // on a worker that exits are not lost, as they are with SO_REUSEPORT).
    cluster.schedulingPolicy = cluster.SCHED_RR
  }

  start (): void {
    for (let slot = 1; slot <= this.opts.count; slot++) this.fork(slot)
  }

  private fork (slot: number): WorkerEntry {
    const worker = cluster.fork({ [SLOT_ENV]: String(slot) })
    const entry = this.table.add(slot, worker)
    worker.on('message', (m: unknown) => { if (isGatehouseMessage(m)) this.onMessage(entry, m as WorkerMessage) })
    worker.on('exit', (code: number | null, signal: string | null) => this.onExit(entry, code, signal as NodeJS.Signals | null))
    // An IPC error (the worker gone mid-send) is not the primary's death.
    worker.on('error', err => this.log.warn({ worker: slot, workerPid: worker.process.pid, error: err.message }, 'worker channel error'))
    this.log.info({ worker: slot, workerPid: worker.process.pid }, 'worker starting')
    return entry
  }

  private onMessage (entry: WorkerEntry, m: WorkerMessage): void {
    switch (m.gh) {
      case 'ready':
        if (entry.state === 'starting') entry.state = 'ready'
        entry.version = m.version
        this.log.info({ worker: entry.slot, workerPid: entry.worker.process.pid, version: m.version }, 'worker ready')
        for (const r of this.retained.values()) send(entry.worker, { gh: 'bus', ...r })
        break
      case 'stats':
        entry.requests = m.requests
        break
      case 'bus': {
        const out: PrimaryMessage = { gh: 'bus', topic: m.topic, data: m.data, from: entry.slot }
        if (m.retain !== undefined) {
          // Moved to the end: replayed in the order the latest values came.
          this.retained.delete(m.retain)
          this.retained.set(m.retain, { topic: m.topic, data: m.data, from: entry.slot })
        }
        for (const other of this.table.entries) {
          if (other !== entry && other.state !== 'draining') send(other.worker, out)
        }
        break
      }
      case 'ask':
        if (m.what === 'workers') send(entry.worker, { gh: 'answer', id: m.id, data: { workers: this.table.list(), deaths: this.deaths } })
        else this.gather(entry, m.id)
        break
      case 'collected':
        this.gathering.get(m.id)?.(entry, m.data)
        break
    }
  }

  private onExit (entry: WorkerEntry, code: number | null, signal: NodeJS.Signals | null): void {
    this.table.remove(entry)
    const pid = entry.worker.process.pid
    if (entry.retiring || this.stopping) {
      this.log.info({ worker: entry.slot, workerPid: pid, code, signal }, 'worker exited')
      return
    }
    this.deaths++
    const lived = Date.now() - entry.startedAt.getTime()
    const quick = lived < STABLE_AFTER_MS ? (this.quickDeaths.get(entry.slot) ?? 0) + 1 : 1
    this.quickDeaths.set(entry.slot, quick)
    const delay = respawnDelay(quick)
    this.log.error({ worker: entry.slot, workerPid: pid, code, signal, lived, deaths: this.deaths, respawnIn: delay }, 'worker died')
    // The slot may already have a replacement under way (a rolling replacement's new worker).
    if (this.table.current(entry.slot).length > 0) return
    const respawn = () => { if (!this.stopping && this.table.current(entry.slot).length === 0) this.fork(entry.slot) }
    if (delay === 0) respawn()
    else setTimeout(respawn, delay).unref()
  }

  /**
   * Replaces every worker, one slot at a time: the new worker is ready (listening) before the
   * old one is asked to drain, so the port always has a worker accepting. A new worker that
   * exits before it is ready stops the replacement there: the old ones keep serving. Resolves
   * true when every slot was replaced.
   */
  replaceAll (reason: string): Promise<boolean> {
    if (this.rolling !== undefined) {
      this.log.warn({ reason }, 'a replacement is already under way: this one waits for it')
      const after = this.rolling.then(() => this.replaceAll(reason))
      return after
    }
    this.rolling = this.roll(reason).finally(() => { this.rolling = undefined })
    return this.rolling
  }

  private async roll (reason: string): Promise<boolean> {
    this.log.info({ reason, workers: this.opts.count }, 'replacing every worker, one at a time')
    for (let slot = 1; slot <= this.opts.count; slot++) {
      if (this.stopping) return false
      const old = this.table.current(slot)
      const next = this.fork(slot)
      const ready = await readyOrExit(next)
      if (!ready) {
        this.log.error({ worker: slot, reason }, 'the new worker did not start: replacement stopped, the old workers keep serving')
        return false
      }
      for (const o of old) this.retire(o)
    }
    this.log.info({ reason }, 'every worker replaced')
    return true
  }

  /** Asks a worker to drain (its own SIGTERM handling: in-flight requests finish), then exit. */
  private retire (entry: WorkerEntry): void {
    entry.retiring = true
    entry.state = 'draining'
    entry.worker.process.kill('SIGTERM')
    const timer = setTimeout(() => {
      if (entry.worker.isDead()) return
      this.log.warn({ worker: entry.slot, workerPid: entry.worker.process.pid }, 'worker still running after drainTimeout: killed')
      entry.worker.process.kill('SIGKILL')
    }, this.opts.drainTimeout() + DRAIN_GRACE_MS)
    timer.unref()
  }

  /**
   * Asks every other serving worker to collect (its metrics) and answers the asker with the
   * list, once all have answered or after GATHER_TIMEOUT_MS with what came (a worker that is
   * stuck or just died leaves its share out rather than fail the scrape).
   */
  private gather (asker: WorkerEntry, askerId: number): void {
    const id = this.nextGather++
    const from = [...this.table.entries].filter(e => e !== asker && e.state === 'ready')
    const got: unknown[] = []
    const waiting = new Set(from)
    const finish = () => {
      clearTimeout(timer)
      this.gathering.delete(id)
      send(asker.worker, { gh: 'answer', id: askerId, data: got })
    }
    const timer = setTimeout(finish, GATHER_TIMEOUT_MS)
    this.gathering.set(id, (entry, data) => {
      if (!waiting.delete(entry)) return
      got.push(data)
      if (waiting.size === 0) finish()
    })
    if (from.length === 0) finish()
    for (const e of from) send(e.worker, { gh: 'collect', id })
  }

  /** Forgets the retained messages whose key starts with `prefix` (a reload drops runtime changes). */
  forget (prefix: string): void {
    for (const key of [...this.retained.keys()]) if (key.startsWith(prefix)) this.retained.delete(key)
  }

  /** Sends every worker a signal (SIGHUP: each reloads the file the primary just validated). */
  signalAll (signal: NodeJS.Signals): void {
    for (const e of this.table.entries) if (!e.retiring) e.worker.process.kill(signal)
  }

  /** Drains every worker and resolves once all have exited. */
  async stop (): Promise<void> {
    this.stopping = true
    const all = [...this.table.entries]
    for (const e of all) if (!e.retiring) this.retire(e)
    await Promise.all(all.map(e => e.worker.isDead() ? undefined : once(e.worker, 'exit')))
  }
}

function send (worker: Worker, m: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(m, undefined, () => {})
}

/** True once the worker says it is ready; false if it exits first. */
function readyOrExit (entry: WorkerEntry): Promise<boolean> {
  if (entry.state === 'ready') return Promise.resolve(true)
  return new Promise(resolve => {
    const onMessage = (m: unknown) => { if (isGatehouseMessage(m) && m.gh === 'ready') done(true) }
    const onExit = () => done(false)
    const done = (v: boolean) => {
      entry.worker.off('message', onMessage)
      entry.worker.off('exit', onExit)
      resolve(v)
    }
    entry.worker.on('message', onMessage)
    entry.worker.on('exit', onExit)
  })
}
