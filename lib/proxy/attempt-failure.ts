import { BadGatewayError, ConnectTimeoutError, GatewayTimeoutError, QueueTimeoutError, UpstreamTlsError } from '../errors'
import { QUEUE_TIMEOUT_CODE } from './origin-pools'

/**
 * An HTTP/2 stream the backend never started: answered with RST_STREAM REFUSED_STREAM, or
 * above the last-stream-id of its GOAWAY (nghttp2 closes those with REFUSED_STREAM too).
 * RFC 9113 §8.7 says such a request was not processed and may be retried whatever its
 * method, as Envoy's `refused-stream` retry policy and gRPC's transparent retry take it.
 */
export const REFUSED_STREAM_CODE = 'GH_REFUSED_STREAM'

/** The code a failed attempt is classified by: undici's or Node's, the cause's first; an HTTP/2 refused stream as REFUSED_STREAM_CODE. */
export function failureCode (error: Error): string {
  const { code, cause, message } = error as Error & { code?: string, cause?: { code?: string, message?: string } }
  const found = cause?.code ?? code ?? ''
  // Node names the RST_STREAM code only in the message of ERR_HTTP2_STREAM_ERROR.
  if (found === 'ERR_HTTP2_STREAM_ERROR' && (cause?.message ?? message).endsWith('NGHTTP2_REFUSED_STREAM')) return REFUSED_STREAM_CODE
  return found
}

// Failures that happen before a single byte of the request left: any method may go to
// another server after them. Everything else (reset, timeout after sending) may have
// reached the application, so only idempotent methods are retried.
// A queue timeout (lib/proxy/admission.ts) left before any connection was used.
const NOT_SENT = new Set([QUEUE_TIMEOUT_CODE, REFUSED_STREAM_CODE, 'ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL'])
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT'])

// Node's (OpenSSL's) codes for a backend certificate that failed verification, by the reason
// a person reads in the log. The handshake failed, so the request was never sent.
const CERT_REASONS = new Map([
  ['CERT_HAS_EXPIRED', 'expired'],
  ['CERT_NOT_YET_VALID', 'not yet valid'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'wrong name'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unknown CA'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'unknown CA'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unknown CA'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'unknown CA (self-signed)'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'unknown CA (self-signed in chain)'],
  ['CERT_REVOKED', 'revoked'],
  ['CERT_SIGNATURE_FAILURE', 'bad signature']
])

/**
 * Why TLS with the backend failed, or undefined when `code` is not a TLS failure: a
 * certificate that failed verification, or an alert from the server (OpenSSL's ERR_SSL_*
 * codes, such as a server that wanted a client certificate it did not get).
 */
export function tlsFailure (code: string): string | undefined {
  const reason = CERT_REASONS.get(code)
  if (reason !== undefined) return reason
  if (code.startsWith('ERR_SSL_')) return 'handshake refused (' + code.slice(8).toLowerCase().replaceAll('_', ' ') + ')'
  return undefined
}

/** Whether a failed attempt's error code proves the request never reached the backend. */
export function neverSent (code: string): boolean {
  return NOT_SENT.has(code) || CERT_REASONS.has(code)
}

/** The client's answer for a failed attempt: 504 for timeouts, 502 for the rest; it names the group, never the server. */
export function gatewayError (code: string, upstream: string): Error {
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new ConnectTimeoutError(upstream)
  if (code === QUEUE_TIMEOUT_CODE) return new QueueTimeoutError(upstream)
  if (TIMEOUTS.has(code)) return new GatewayTimeoutError(upstream)
  if (tlsFailure(code) !== undefined) return new UpstreamTlsError(upstream)
  return new BadGatewayError(upstream)
}
