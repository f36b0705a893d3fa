/**
 * Upper bounds of gatehouse_request_duration_seconds, in seconds: 1 ms to 30 s, denser
 * where a proxy's answers usually fall (a few ms to a second), and 30 s to see timeouts.
 */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const

// The same bounds in milliseconds: the access-log hook has reply.elapsedTime in ms.
const BOUNDS_MS = LATENCY_BUCKETS.map(s => s * 1000)

/**
 * The latency histogram of one upstream group. Observing is a short scan and two additions
 * on plain numbers (no labels to hash, no allocation), as every other per-request counter
 * here; Prometheus reads it at scrape time (lib/admin/metrics.ts), where the buckets are summed.
 */
export class LatencyHistogram {
  /** Observations per bucket, not cumulative; the last one holds those above 30 s. */
  readonly counts = new Array<number>(BOUNDS_MS.length + 1).fill(0)
  sum = 0
  count = 0

  observe (ms: number): void {
    let i = 0
    while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]) i++
    this.counts[i]++
    this.sum += ms
    this.count++
  }

  /** Cumulative counts per upper bound, as Prometheus buckets are, ending with +Inf. */
  cumulative (): number[] {
    let total = 0
    return this.counts.map(n => (total += n))
  }
}
