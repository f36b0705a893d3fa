const BUCKETS = 10
const BUCKET_MS = 1_000
/** Below this many retries in the window the budget always allows one, so a quiet upstream can still fail over. */
export const MIN_RETRIES_PER_WINDOW = 10

/**
 * Caps retries at a share of recent requests over a sliding 10 s window, as Envoy's
 * retry budget does, so that a sick upstream cannot multiply the load on the healthy
 * servers that are left.
 */
export class RetryBudget {
  private readonly requests = new Uint32Array(BUCKETS)
  private readonly retries = new Uint32Array(BUCKETS)
  private bucket = 0
  private bucketStart = 0

  constructor (public ratio: number, private readonly now: () => number = Date.now) {}

  recordRequest (): void {
    this.advance()
    this.requests[this.bucket]++
  }

  /** Takes one retry from the budget if there is one left. */
  tryAcquire (): boolean {
    this.advance()
    let requests = 0
    let retries = 0
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.requests[i]
      retries += this.retries[i]
    }
    if (retries >= MIN_RETRIES_PER_WINDOW && retries >= requests * this.ratio) return false
    this.retries[this.bucket]++
    return true
  }

  private advance (): void {
    const now = this.now()
    const elapsed = Math.floor((now - this.bucketStart) / BUCKET_MS)
    if (elapsed <= 0) return
    for (let i = 1; i <= Math.min(elapsed, BUCKETS); i++) {
      const b = (this.bucket + i) % BUCKETS
      this.requests[b] = 0
      this.retries[b] = 0
    }
    this.bucket = (this.bucket + elapsed) % BUCKETS
    this.bucketStart += elapsed * BUCKET_MS
  }
}
