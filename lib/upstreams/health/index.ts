import type { Dispatcher } from 'undici'
import type { HealthCheckOptions } from '../../config'
import type { Checker } from './checker'
import { httpChecker } from './http-check'
import { tcpCheck } from './tcp-check'
import { grpcCheck } from './grpc-check'

export { failureReason, type Checker, type CheckResult } from './checker'
export { HealthState } from './health-state'
export type { HealthStatus, HealthTransition, Thresholds } from './health-state'

/**
 * The checker for each check type. HTTP checks go through `dispatcher`, which the caller
 * owns and closes, so that probes never share (or queue behind) the proxy's pools.
 */
export function createCheckers (dispatcher: Dispatcher): Record<HealthCheckOptions['type'], Checker> {
  return {
    http: httpChecker(dispatcher),
    tcp: tcpCheck,
    grpc: grpcCheck
  }
}
