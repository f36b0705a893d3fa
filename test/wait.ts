import { setTimeout as sleep } from 'node:timers/promises'

export { sleep }

export interface WaitOptions {
  /** Give up after this many ms. Generous by default: a deadline, not an expected duration. */
  timeout?: number
  /** Named in the error when the deadline passes. */
  what?: string
  /** Poll period in ms. */
  every?: number
}

/**
 * Polls `condition` until it holds and returns how long that took. Throws once `timeout`
 * has passed, so that a test waiting for something that never happens fails, not hangs.
 * Use it instead of a fixed sleep: a sleep long enough on an idle machine races TTLs and
 * check intervals on a loaded one, and one long enough there slows every run.
 */
export async function waitFor (condition: () => boolean | Promise<boolean>, opts: WaitOptions = {}): Promise<number> {
  const { timeout = 5000, what = 'condition', every = 5 } = opts
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await sleep(every)
  }
  return Date.now() - start
}

/**
 * Waits until `value()` has not changed for `quiet` ms (something under way has landed),
 * within `timeout`; returns the settled value.
 */
export async function settled<T> (value: () => T, opts: { quiet: number, timeout?: number, what?: string }): Promise<T> {
  let last = value()
  let since = Date.now()
  await waitFor(() => {
    const now = value()
    if (now !== last) {
      last = now
      since = Date.now()
    }
    return Date.now() - since >= opts.quiet
  }, { timeout: opts.timeout, what: opts.what })
  return last
}
