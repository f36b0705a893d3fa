import type { Dispatcher } from 'undici'
import type { ClientConnection } from './client-connection'

/**
 * Whether the client of a forwarded request is still there, in the shape undici takes as a
 * request's `signal` (an emitter with `aborted` and an 'abort' event): when the client goes,
 * undici aborts the backend request, which frees its connection, as nginx does with
 * `proxy_ignore_client_abort off`. One backend request at a time listens, so one listener
 * slot is all it keeps (no AbortController, no listener array per request).
 */
export interface ClientSignal {
  readonly aborted: boolean
  /** The client's connection, for backend connections that must be its own (the PROXY protocol). */
  readonly client?: ClientConnection

  on (event: 'abort', listener: () => void): unknown
  once (event: 'abort', listener: () => void): unknown
  removeListener (event: 'abort', listener: () => void): unknown
}

/**
 * The signal travels from the proxy to the pools beside the headers, as the request target
 * does (lib/proxy/upstream-target.ts): reply-from copies symbol keys, undici never sends them.
 */
const kSignal = Symbol('gatehouse.clientSignal')

type Carrier = Record<string | symbol, unknown>

export function carrySignal (headers: object, signal: ClientSignal): void {
  (headers as Carrier)[kSignal] = signal
}

/** The signal carried in a request's headers, set as its undici `signal`; null when none. */
export function applySignal (opts: Dispatcher.RequestOptions): ClientSignal | null {
  const signal = (opts.headers as Carrier | null | undefined)?.[kSignal] as ClientSignal | undefined
  if (signal === undefined) return null
  opts.signal = signal as unknown as Dispatcher.RequestOptions['signal']
  return signal
}

/** The code of the error a request gets when its client left before it was sent. */
export const CLIENT_GONE_CODE = 'GH_CLIENT_GONE'
