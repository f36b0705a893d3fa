/** A worker that lived at least this long had not "kept dying": its slot's backoff starts over. */
export const STABLE_AFTER_MS = 10_000
/** The longest wait before starting a worker again. */
export const MAX_BACKOFF_MS = 30_000
const FIRST_BACKOFF_MS = 250

/**
 * How long to wait before replacing a worker that died, given how many times in a row its
 * slot's workers died before running STABLE_AFTER_MS. The first death is replaced at once
 * (nginx's master does the same for every death); a slot that keeps dying waits 250 ms, then
 * twice as long each time up to 30 s (pm2's exponential restart delay), so that a worker that
 * crashes at start does not spin a core.
 */
export function respawnDelay (quickDeaths: number): number {
  if (quickDeaths <= 1) return 0
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (quickDeaths - 2))
}
