import type { DurationValue } from './schema'
import { MAX_TIMER_MS } from './defaults'
import { parseDuration } from './duration'

/** A duration from the config in milliseconds, or the default when it is left out. */
export function ms (value: DurationValue | undefined, fallback: number): number {
  return value === undefined ? fallback : parseDuration(value)
}

/**
 * A duration that becomes a Node timer: 1 ms at least (a zero would turn the timeout off in
 * Node: keepAliveTimeout 0 keeps idle connections for ever), and at most what a timer holds
 * (a longer one would fire at once).
 */
export function timerMs (problems: string[], path: string, value: number): number {
  if (value < 1 || value > MAX_TIMER_MS) problems.push(`${path}: must be between 1 ms and ${MAX_TIMER_MS} ms (about 24 days)`)
  return value
}
