import type { Backend } from '../backend'
import type { HealthCheckOptions, UpstreamTls } from '../../config'

/**
 * What every checker shares, apart from lib/upstreams/health/index.ts (which builds the checkers and
 * so imports them): with the types there, each checker imported its own importer.
 */

export interface CheckResult {
  ok: boolean
  /** Short and loggable: 'status 503', 'timeout', 'ECONNREFUSED', 'connected'. */
  reason: string
}

/** One probe of one server. Never rejects: every failure is a result with ok false. */
export type Checker = (backend: Backend, options: HealthCheckOptions, tls?: UpstreamTls) => Promise<CheckResult>

/** A timeout by any of its names is 'timeout'; other errors go by their code ('ECONNREFUSED'). */
export function failureReason (err: unknown): string {
  if (err === null || typeof err !== 'object') return String(err)
  const e = err as { name?: string, code?: string, message?: string }
  if (e.name === 'TimeoutError' || TIMEOUT_CODES.has(e.code ?? '')) return 'timeout'
  return e.code ?? e.message ?? 'error'
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])
