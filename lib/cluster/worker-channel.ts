import { isGatehouseMessage, type PrimaryMessage, type WorkerInfo, type WorkerMessage } from './messages'

/** How often a worker tells the primary how many answers it sent: nothing per request crosses processes. */
const STATS_EVERY_MS = 1_000
/** A question the primary does not answer in this time fails (the primary is gone or stuck). */
const ASK_TIMEOUT_MS = 2_000

export interface WorkersAnswer {
  workers: WorkerInfo[]
  /** Workers that died (not asked to go) since the primary started. */
  deaths: number
}

/**
 * A worker's end of the IPC channel to the primary: ready and stats reports, questions, and
 * the bus (a message to every other worker, relayed by the primary).
 */
export class WorkerChannel {
  private nextId = 1
  private readonly pending = new Map<number, (data: unknown) => void>()
  private readonly topics = new Map<string, Set<(data: unknown, from: number) => void>>()
  private stats: NodeJS.Timeout | undefined
  /** What this worker gives another that asks for every worker's metrics. */
  collector: (() => Promise<unknown>) | undefined

  constructor (readonly slot: number, readonly count: number, private readonly proc: NodeJS.Process = process) {
    proc.on('message', (m: unknown) => {
      if (!isGatehouseMessage(m)) return
      const msg = m as PrimaryMessage
      if (msg.gh === 'answer') {
        this.pending.get(msg.id)?.(msg.data)
        this.pending.delete(msg.id)
      } else if (msg.gh === 'collect') {
        const collect = this.collector ?? (async () => [])
        collect().then(data => this.send({ gh: 'collected', id: msg.id, data }), () => this.send({ gh: 'collected', id: msg.id, data: [] }))
      } else if (msg.gh === 'bus') {
        for (const fn of this.topics.get(msg.topic) ?? []) fn(msg.data, msg.from ?? 0)
      }
    })
  }

  private send (m: WorkerMessage): void {
    if (this.proc.connected && this.proc.send !== undefined) this.proc.send(m, undefined, {}, () => {})
  }

  ready (version: string): void {
    this.send({ gh: 'ready', version })
  }

  /** Reports `count()` to the primary every second, on a timer that keeps no process alive. */
  reportRequests (count: () => number): void {
    this.stats = setInterval(() => this.send({ gh: 'stats', requests: count() }), STATS_EVERY_MS)
    this.stats.unref()
  }

  /** To every other worker; `retain` (a key) also to the workers that start later. */
  broadcast (topic: string, data: unknown, retain?: string): void {
    this.send({ gh: 'bus', topic, data, ...(retain !== undefined && { retain }) })
  }

  on (topic: string, fn: (data: unknown, from: number) => void): void {
    let set = this.topics.get(topic)
    if (set === undefined) this.topics.set(topic, set = new Set())
    set.add(fn)
  }

  workers (): Promise<WorkersAnswer> {
    return this.ask('workers') as Promise<WorkersAnswer>
  }

  /** What every other worker's collector gave (their metrics). */
  othersCollected (): Promise<unknown[]> {
    return this.ask('metrics') as Promise<unknown[]>
  }

  private ask (what: 'workers' | 'metrics'): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error('the primary did not answer')) }, ASK_TIMEOUT_MS)
      this.pending.set(id, data => { clearTimeout(timer); resolve(data) })
      this.send({ gh: 'ask', id, what })
    })
  }

  close (): void {
    clearInterval(this.stats)
  }
}
