import type { Attempt, Failure } from './attempt'
import { tlsFailure } from './attempt-failure'

interface Logger {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

/**
 * The log lines a failed attempt is worth, the same for plain requests and tunnels: one
 * warning when it ejected its server, one info line when the request goes on to another.
 */
export function logFailure (log: Logger, reqId: string, attempt: Attempt, failure: Failure, code: string): void {
  const upstream = attempt.upstream.name
  const server = attempt.backend?.id
  const tls = tlsFailure(code)
  // A certificate problem is a configuration problem someone must fix: always worth a warning, even when a retry then succeeds.
  if (tls !== undefined) log.warn({ reqId, upstream, server, reason: tls, code }, 'TLS with the server failed')
  if (failure.ejected) {
    log.warn({ reqId, upstream, server, reason: code, failTimeout: attempt.upstream.options.passive.failTimeout }, 'server ejected after failed attempts')
  }
  if (failure.retry) log.info({ reqId, upstream, server, reason: code }, 'retrying on another server')
}
