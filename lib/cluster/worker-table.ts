import type { Worker } from 'node:cluster'
import type { WorkerInfo, WorkerState } from './messages'

export interface WorkerEntry {
  slot: number
  worker: Worker
  state: WorkerState
  startedAt: Date
  requests: number
  version: string
  /** Set once the primary itself asked it to go (drain, replacement): its exit is no death. */
  retiring: boolean
}

/** The primary's table of the workers it runs: several per slot while one replaces another. */
export class WorkerTable {
  readonly entries = new Set<WorkerEntry>()

  add (slot: number, worker: Worker): WorkerEntry {
    const entry: WorkerEntry = { slot, worker, state: 'starting', startedAt: new Date(), requests: 0, version: '', retiring: false }
    this.entries.add(entry)
    return entry
  }

  remove (entry: WorkerEntry): void {
    this.entries.delete(entry)
  }

  /** The workers of a slot that serve or will: not those already asked to go. */
  current (slot: number): WorkerEntry[] {
    return [...this.entries].filter(e => e.slot === slot && !e.retiring)
  }

  list (): WorkerInfo[] {
    return [...this.entries]
      .sort((a, b) => a.slot - b.slot || a.startedAt.getTime() - b.startedAt.getTime())
      .map(e => ({ id: e.slot, pid: e.worker.process.pid ?? 0, state: e.state, startedAt: e.startedAt.toISOString(), requests: e.requests, version: e.version }))
  }
}
