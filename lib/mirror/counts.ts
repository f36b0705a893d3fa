import type { Upstream } from '../upstreams/upstream'

/** What became of the copies meant for a mirror group: a bounded set, so it can be a metric label. */
export const MIRROR_OUTCOMES = ['sent', 'answered', 'failed', 'dropped', 'skipped'] as const
export type MirrorOutcome = typeof MIRROR_OUTCOMES[number]

/**
 * The copies of requests sent (or not) to one mirror group. `sent` is every copy handed to
 * a server; each of those ends `answered` (any status) or `failed` (refused, reset, timed
 * out). `dropped` copies were not sent because the route's `maxInFlight` was reached or no
 * server of the group was ready; `skipped` ones because the body could not be copied
 * (over `maxBodySize`, or streamed rather than held).
 */
export type MirrorCounts = Record<MirrorOutcome, number>

// Kept beside the group rather than on it: a group that is no mirror target carries nothing.
const counts = new WeakMap<Upstream, MirrorCounts>()

/** The counts of copies to `upstream`, created (all zero) on first use. */
export function mirrorCounts (upstream: Upstream): MirrorCounts {
  let c = counts.get(upstream)
  if (c === undefined) {
    c = { sent: 0, answered: 0, failed: 0, dropped: 0, skipped: 0 }
    counts.set(upstream, c)
  }
  return c
}

/** The counts of copies to `upstream`, or undefined when no route mirrors to it. */
export function mirrorCountsOf (upstream: Upstream): Readonly<MirrorCounts> | undefined {
  return counts.get(upstream)
}
