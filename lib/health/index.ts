import type { Dispatcher } from 'undici'
import type { Backend } from '../backend'
import type { HealthCheckOptions } from '../config'
import { httpChecker } from './http-check'
import { tcpCheck } from './tcp-check'

export interface CheckResult {
  ok: boolean
  /** Short and loggable: 'status 503', 'timeout', 'ECONNREFUSED', 'connected'. */
  reason: string
}

/** One probe of one server. Never rejects: every failure is a result with ok false. */
export type Checker = (backend: Backend, options: HealthCheckOptions) => Promise<CheckResult>

export { HealthState } from './health-state'
export { failureReason } from './http-check'
export type { HealthStatus, HealthTransition, Thresholds } from './health-state'

/**
 * The checker for each check type. HTTP checks go through `dispatcher`, which the caller
 * owns and closes, so that probes never share (or queue behind) the proxy's pools.
 */
export function createCheckers (dispatcher: Dispatcher): Record<HealthCheckOptions['type'], Checker> {
  return {
    http: httpChecker(dispatcher),
    tcp: tcpCheck
  }
}
