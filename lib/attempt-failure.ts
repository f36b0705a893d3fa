import { BadGatewayError, ConnectTimeoutError, GatewayTimeoutError, QueueTimeoutError } from './errors'
import { QUEUE_TIMEOUT_CODE } from './origin-pools'

// Failures that happen before a single byte of the request left: any method may go to
// another server after them. Everything else (reset, timeout after sending) may have
// reached the application, so only idempotent methods are retried.
// A queue timeout (lib/admission.ts) left before any connection was used.
const NOT_SENT = new Set([QUEUE_TIMEOUT_CODE, 'ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL'])
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT'])

/** Whether a failed attempt's error code proves the request never reached the backend. */
export function neverSent (code: string): boolean {
  return NOT_SENT.has(code)
}

/** The client's answer for a failed attempt: 504 for timeouts, 502 for the rest; it names the group, never the server. */
export function gatewayError (code: string, upstream: string): Error {
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new ConnectTimeoutError(upstream)
  if (code === QUEUE_TIMEOUT_CODE) return new QueueTimeoutError(upstream)
  if (TIMEOUTS.has(code)) return new GatewayTimeoutError(upstream)
  return new BadGatewayError(upstream)
}
