import type { Backend } from '../upstreams/backend'
import type { KeySource } from '../upstreams/hash-key'
import type { Upstream } from '../upstreams/upstream'
import type { ClientSignal } from './client-signal'
import { clientConnectionOf, type ClientConnection } from './client-connection'
import { gatewayError, neverSent, REFUSED_STREAM_CODE } from './attempt-failure'
import { NoServerAvailableError } from '../errors'
import { QUEUE_TIMEOUT_CODE } from './origin-pools'

const NONE: readonly Backend[] = Object.freeze([])

/** What the request could survive being sent again with, decided by the caller who knows the body. */
export interface Resend {
  /** The request can go out again if none of it was sent (the body is held, or still unread). */
  ifNotSent: boolean
  /** The request can go out again even though it reached a backend (idempotent, body held). */
  ifSent: boolean
}

export interface Failure {
  /** Another server may be tried now: the request is safe to resend and the retry is within `retries` and the budget. */
  retry: boolean
  /** What the client gets when no retry follows: 502 or 504, naming the group. */
  error: Error
  /** This failure ejected the server (passive health): worth one warning. */
  ejected: boolean
}

/** Why a request's backend exchange was cancelled: its client left, or its gRPC deadline passed. */
export type AbortReason = 'client-gone' | 'deadline'

/**
 * Someone following a request's attempts as they happen (the tracing plugin, only when tracing
 * is on): the Attempt calls it at each step of its loop, so that what follows the attempts
 * needs no code of its own in the forwarder or the tunnel. Null on an Attempt without one,
 * which then pays one null check per step.
 */
export interface AttemptObserver {
  /** next() chose `backend`: an attempt begins. */
  started (backend: Backend): void
  /** The request is about to leave for the current server: headers to add to it (the trace context). */
  sending (headers: Record<string, unknown>): void
  /** The current server answered, with `status` when the caller knows it. */
  answered (status?: number): void
  /** The current attempt failed with `code` (undici's or Node's); `failure.retry` says whether another server follows. */
  failed (code: string, failure: Failure): void
  /** The current attempt never left (refused on the way out): as if it had not begun. */
  cancelled (): void
  /** The client went away, or its deadline passed: what was in flight for it is cancelled. */
  aborted (reason: AbortReason): void
}

/**
 * One request's way through an upstream group: which servers it was sent to, which one
 * holds it now, and what the client gets when it cannot go anywhere else. The HTTP
 * forwarder and the WebSocket tunnel drive the same loop through it: next(), then
 * succeeded() or failed(), and release() when the exchange is over, so the failover rules
 * (never a server twice, the retry budget, what may be replayed) live in one place.
 *
 * It is also the backend request's abort signal (lib/proxy/client-signal.ts): abort() when the
 * client is gone cancels whatever is queued or in flight for it, and the request ends
 * charged to no server.
 */
export class Attempt implements ClientSignal {
  /** Servers this request failed on, in order; the array only once one failed (most requests never do). */
  private failedOn: Backend[] | undefined = undefined
  /** The server of the current (or last) attempt. */
  backend: Backend | null = null
  private lastError: Error | null = null
  /** Streams a server refused (REFUSED_STREAM, GOAWAY): retries that leave the server eligible. */
  private refused = 0
  private inflight = false
  /** The client went away before its answer was complete. */
  aborted = false
  /** The one listener of the backend request in progress (queued, or in undici). */
  private onAbort: (() => void) | null = null

  /** The client's connection: what backend connections that carry its address are bound to. */
  get client (): ClientConnection | undefined {
    return clientConnectionOf(this.source)
  }

  /** Servers this request failed on, in order. */
  get tried (): readonly Backend[] {
    return this.failedOn ?? NONE
  }

  /** `observer` follows each step (tracing); null when nothing does. */
  constructor (readonly upstream: Upstream, private readonly source: KeySource, private readonly preferred: string | null, readonly observer: AttemptObserver | null = null) {
    upstream.budget.recordRequest()
  }

  /** Picks a server not yet tried (the sticky hint first, while it is ready) and books it in flight; undefined when none is left. */
  next (): Backend | undefined {
    const preferred = this.preferred === null ? undefined : this.upstream.backends.get(this.preferred)
    const backend = this.upstream.select(this.source, { tried: this.failedOn, preferred })
    if (backend === undefined) return undefined
    this.backend = backend
    this.inflight = true
    backend.inflight++
    backend.attempts++
    this.observer?.started(backend)
    return backend
  }

  /** The answer when next() found no server: the last failure, or 503 when nothing was tried: at once, nothing waits for a server to come back. */
  noServer (): Error {
    return this.lastError ?? new NoServerAvailableError(this.upstream.name)
  }

  /** The current server answered (with `status`, when known): it counts towards its passive health. */
  succeeded (status?: number): void {
    if (this.backend !== null) this.upstream.backends.recordSuccess(this.backend)
    this.observer?.answered(status)
  }

  /**
   * The current attempt failed with `code` (undici's or Node's error code). Books it on the
   * server (counts, passive ejection), releases it, and says whether another may be tried.
   * A queue timeout means the server is busy, not failing: it counts for the group only,
   * since ejecting busy servers would crowd the ones left.
   */
  failed (code: string, resend: Resend): Failure {
    const backend = this.backend as Backend
    this.release()
    let ejected = false
    const tried = this.failedOn ??= []
    if (code === REFUSED_STREAM_CODE) {
      // The server turned the stream away unstarted (draining, or at its stream limit): not a
      // failure of it, and it may take the request on its next connection, as Envoy retries
      // a refused stream; it still counts as a retry.
      this.refused++
    } else {
      if (code === QUEUE_TIMEOUT_CODE) this.upstream.queueTimeouts++
      else ejected = this.upstream.attemptFailed(backend, Date.now())
      tried.push(backend)
    }
    const error = gatewayError(code, this.upstream.name)
    this.lastError = error
    const safe = neverSent(code) ? resend.ifNotSent : resend.ifSent
    const failure = { retry: safe && this.upstream.mayRetry(tried.length + this.refused), error, ejected }
    this.observer?.failed(code, failure)
    return failure
  }

  /** The current attempt never left (the request was refused on the way out): as if the server had not been chosen. */
  cancel (): void {
    const backend = this.backend
    if (backend === null) return
    this.release()
    backend.attempts--
    this.backend = null
    this.observer?.cancelled()
  }

  /** The client is gone (or its gRPC deadline passed): the backend request in progress, if any, is cancelled; safe to call twice. */
  abort (reason: AbortReason = 'client-gone'): void {
    if (this.aborted) return
    this.aborted = true
    this.observer?.aborted(reason)
    const listener = this.onAbort
    this.onAbort = null
    listener?.()
  }

  // The emitter half of ClientSignal, for one listener at a time (one backend request at a time).
  on (_event: 'abort', listener: () => void): this {
    this.onAbort = listener
    return this
  }

  once (_event: 'abort', listener: () => void): this {
    this.onAbort = listener
    return this
  }

  removeListener (_event: 'abort', listener: () => void): this {
    if (this.onAbort === listener) this.onAbort = null
    return this
  }

  /** The exchange with the current server is over (answered, failed or abandoned); safe to call twice. */
  release (): void {
    if (this.inflight) {
      this.inflight = false
      ;(this.backend as Backend).inflight--
    }
  }
}
