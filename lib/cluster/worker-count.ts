import { availableParallelism } from 'node:os'
import { readFileSync } from 'node:fs'

/**
 * `--workers` as given: a positive integer or "auto"; undefined when absent. Throws with the
 * flag's name on anything else.
 */
export function parseWorkersFlag (value: string | undefined): number | 'auto' | undefined {
  if (value === undefined) return undefined
  if (value === 'auto') return 'auto'
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 1024) return Number(value)
  throw new Error(`--workers: not a count from 1 to 1024 nor "auto": ${value}`)
}

/** The count of worker processes: "auto" is one per core this process may use. */
export function workerCount (value: number | 'auto'): number {
  return value === 'auto' ? availableParallelism() : value
}

/**
 * The `workers` key of a config file, read without validating the rest: whether to start a
 * primary is decided before anything else loads. A file that cannot be read, or a value of the
 * wrong shape, gives undefined: the single-process path then reports it (by its JSON path).
 */
export function workersInFile (file: string): number | 'auto' | undefined {
  try {
    const value = (JSON.parse(readFileSync(file, 'utf8')) as { workers?: unknown }).workers
    if (value === 'auto' || (Number.isInteger(value) && (value as number) >= 1)) return value as number | 'auto'
  } catch {}
  return undefined
}
