import { subscribe } from 'node:diagnostics_channel'
import { createRequire } from 'node:module'

// undici 7's internals that the HTTP/2 workarounds beside this file reach into: undici has no
// public hook for a client's connection state. Kept in one place, so that an undici upgrade is
// checked against them here once.
const load = createRequire(__filename)

/** undici's own symbols for a client's queue, connection and session. */
export const undiciSymbols = load('undici/lib/core/symbols.js') as Record<string, symbol>

/** undici's helpers for a request's body and for failing a request. */
export const undiciUtil = load('undici/lib/core/util.js') as { bodyLength (body: unknown): number | null, errorRequest (client: unknown, request: unknown, err: Error): void }

/** Calls `listener` with every socket undici connects, as it connects ('undici:client:connected'). */
export function onUndiciConnected (listener: (socket: Record<symbol, unknown>) => void): void {
  subscribe('undici:client:connected', message => {
    const socket = (message as { socket?: Record<symbol, unknown> }).socket
    if (socket !== undefined) listener(socket)
  })
}
