import type { NormalizedConfig } from '../config/types'
import { ConfigError } from '../errors'

/**
 * What a config cannot do with several workers, each problem by its JSON path. A rate limit
 * counted in a worker's memory would let N workers through N times the configured number;
 * counted in Redis (`rateLimit.redis`) it holds for the machine, as it does for several
 * instances. Refused rather than quietly multiplied.
 */
export function machineWideProblems (config: NormalizedConfig, workers: number): string[] {
  if (workers <= 1) return []
  const limited = config.rateLimit !== undefined || config.routes.some(r => r.rateLimit !== undefined && r.rateLimit !== false)
  if (!limited || config.rateLimit?.redis !== undefined) return []
  return [`rateLimit.redis: required when workers > 1 (${workers} here): a rate limit kept in each worker's memory would let ${workers} times the configured number through`]
}

export function checkMachineWide (config: NormalizedConfig, workers: number): void {
  const problems = machineWideProblems(config, workers)
  if (problems.length > 0) throw new ConfigError(problems.join('\n  '))
}

/**
 * A worker's share of `limits.maxConnections`: the machine's limit divided evenly (rounded
 * down, at least 1), so that N workers hold no more than the configured number at once. The
 * round-robin hands connections out in turn, so each worker's share fills at about the same rate.
 */
export function connectionShare (maxConnections: number, workers: number): number {
  return Math.max(1, Math.floor(maxConnections / workers))
}
