/**
 * Admission to one origin's connection pool: at most `limit` requests in flight (undici's pool
 * has that many connections, one request each), the rest wait here in arrival order, each for
 * at most `timeout` ms, as in HAProxy's `timeout queue`: a
 * full pool must not hold requests for as long as its slowest connection.
 *
 * The queue is ours because undici's cannot be left: a queued undici request that is aborted
 * only learns of it once it reaches a socket, so a request stuck behind connections held by
 * clients that stopped reading would wait for as long as they do. A request leaves this queue
 * either with a slot (start) or with nothing sent (timedOut), so it may go to another server.
 */
export class Admission {
  /** Requests holding a slot: dispatched, and their response body not yet ended or failed. */
  inflight = 0
  private readonly waiting: Waiter[] = []
  private head = 0

  constructor (public limit: number, public timeout: number) {}

  /**
   * Calls `start` now if a slot is free, else once one is; calls `timedOut` instead if none
   * frees within `timeout`. Returns the waiter when the request had to queue (for leave()),
   * undefined when it started at once.
   */
  /** Takes a slot if one is free and no one is ahead (the caller then starts at once): true when it did. */
  take (): boolean {
    if (this.inflight < this.limit && this.head === this.waiting.length) {
      this.inflight++
      return true
    }
    return false
  }

  admit (start: () => void, timedOut: () => void): Waiter | undefined {
    if (this.inflight < this.limit && this.head === this.waiting.length) {
      // The fast path: a free slot and no one ahead; no timer, no allocation.
      this.inflight++
      start()
      return undefined
    }
    const waiter: Waiter = { start, timedOut, timer: undefined as unknown as NodeJS.Timeout }
    waiter.timer = setTimeout(() => this.expire(waiter), this.timeout)
    this.waiting.push(waiter)
    return waiter
  }

  /**
   * A queued request whose client went away leaves the queue, neither started nor timed out:
   * it must not take a slot (and a backend connection) that no one is waiting for any more.
   * Returns whether it was still queued.
   */
  leave (waiter: Waiter): boolean {
    const i = this.waiting.indexOf(waiter, this.head)
    if (i === -1) return false
    clearTimeout(waiter.timer)
    this.waiting.splice(i, 1)
    return true
  }

  /** A slot is given back: the oldest waiter, if any, takes it. */
  release (): void {
    this.inflight--
    this.drain()
  }

  /** Waiters still queued, and so the requests that would wait for a connection. */
  get queued (): number {
    return this.waiting.length - this.head
  }

  /** Fails every waiter at once, with nothing sent (the pool is going away). */
  abandon (): void {
    const waiters = this.waiting.splice(this.head)
    this.waiting.length = 0
    this.head = 0
    for (const w of waiters) {
      clearTimeout(w.timer)
      w.timedOut()
    }
  }

  /** Starts waiters while slots are free (after a release, or when the limit grew on reload). */
  drain (): void {
    while (this.inflight < this.limit && this.head < this.waiting.length) {
      const w = this.waiting[this.head]
      this.waiting[this.head++] = undefined as unknown as Waiter
      clearTimeout(w.timer)
      this.inflight++
      w.start()
    }
    this.compact()
  }

  private expire (waiter: Waiter): void {
    const i = this.waiting.indexOf(waiter, this.head)
    if (i === -1) return
    this.waiting.splice(i, 1)
    waiter.timedOut()
  }

  private compact (): void {
    // The started waiters before `head` are dropped now and then rather than shifted one by one.
    if (this.head === this.waiting.length) {
      this.waiting.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head)
      this.head = 0
    }
  }
}

export interface Waiter {
  start: () => void
  timedOut: () => void
  timer: NodeJS.Timeout
}
