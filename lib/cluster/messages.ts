// The messages between the primary and its workers, over node:cluster's IPC channel. Every
// one carries `gh` so that messages of other libraries on the same channel are left alone.

/** A worker's state as GET /workers shows it. */
export type WorkerState = 'starting' | 'ready' | 'draining'

export interface WorkerInfo {
  /** The slot, 1..N: a replacement takes the slot of the worker it replaces. */
  id: number
  pid: number
  state: WorkerState
  startedAt: string
  /** Answers sent, as the worker last reported (once a second). */
  requests: number
  /** The package version the worker loaded from disk when it started. */
  version: string
}

export type WorkerMessage =
  | { gh: 'ready', version: string }
  | { gh: 'stats', requests: number }
  /**
   * To every other worker, through the primary. With `retain`, the primary keeps the latest
   * message of that key and gives every worker that starts later all it keeps, in order.
   */
  | { gh: 'bus', topic: string, data: unknown, from?: number, retain?: string }
  /** A question for the primary; the answer comes back with the same id. */
  | { gh: 'ask', id: number, what: 'workers' | 'metrics' }
  /** What a worker collected for another's question (its metrics, as prom-client's JSON). */
  | { gh: 'collected', id: number, data: unknown }

export type PrimaryMessage =
  | { gh: 'bus', topic: string, data: unknown, from?: number }
  | { gh: 'answer', id: number, data: unknown }
  /** Another worker asks for every worker's metrics: answer with `collected` and this id. */
  | { gh: 'collect', id: number }

export function isGatehouseMessage (m: unknown): m is { gh: string } {
  return typeof m === 'object' && m !== null && typeof (m as { gh?: unknown }).gh === 'string'
}

/** The environment variable that gives a worker its slot. */
export const SLOT_ENV = 'GATEHOUSE_WORKER_SLOT'
/** The environment variable that tells a worker how many workers there are. */
export const COUNT_ENV = 'GATEHOUSE_WORKERS'
/** The slot that runs the admin listener for the machine. */
export const ADMIN_SLOT = 1

/** Bus topics and the prefixes of their retained keys. */
export const RUNTIME_TOPIC = 'runtime'
export const RUNTIME_RETAIN = 'runtime:'
/** A split's weights changed through the admin API; retained per route under RUNTIME_RETAIN, so that a reload drops it too. */
export const SPLIT_TOPIC = 'split'
export const SPLIT_RETAIN = `${RUNTIME_RETAIN}split:`
/** A cache purge through the admin API, for every worker's own cache. */
export const PURGE_TOPIC = 'purge'
export const EJECT_TOPIC = 'eject'
export const EJECT_RETAIN = 'eject:'
export const HEALTH_TOPIC = 'health'
export const HEALTH_RETAIN = 'health:'
/** The slot whose worker runs the active health checks for the machine (and the admin listener). */
export const PROBE_SLOT = ADMIN_SLOT

/** A passive ejection, as one worker tells the others. */
export interface EjectionMessage { upstream: string, server: string, until: number }
/** An active check's verdict change, as the probing worker tells the others. */
export interface VerdictMessage { upstream: string, server: string, healthy: boolean, transition: { from: string, to: 'healthy' | 'unhealthy', reason?: string } }
