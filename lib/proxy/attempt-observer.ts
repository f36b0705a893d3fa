import type { Backend } from '../upstreams/backend'
import type { Failure } from './attempt'

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
