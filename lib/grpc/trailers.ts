import type { Readable } from 'node:stream'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { GRPC_STATUS } from './status'

/** The grpc-message of a call whose backend ended it without a grpc-status. */
export const NO_STATUS_MESSAGE = 'the backend ended the call with no grpc-status'

/**
 * The backend's response trailers ride on its body stream from the pools to the reply:
 * reply-from hands onResponse the body and headers only. undici fills the object it gave
 * with the response once the trailers arrive, before the body ends.
 */
const kTrailers = Symbol('gatehouse.trailers')

type Carrier = Readable & { [kTrailers]?: Record<string, string | string[] | undefined> }

export function carryTrailers (body: Readable, trailers: Record<string, string | string[] | undefined> | undefined): void {
  if (trailers !== undefined) (body as Carrier)[kTrailers] = trailers
}

/** The backend's trailers a body carries, once it has ended; undefined when none came. */
export function carriedTrailers (body: Readable): Record<string, string | string[] | undefined> | undefined {
  return (body as Carrier)[kTrailers]
}

// Responses whose trailers go in the body (gRPC-Web, lib/grpc/web.ts), never as HTTP trailers.
const inBody = new WeakSet<object>()

/** The response's trailers are written into its body by its own encoder: passTrailers leaves it be. */
export function trailersInBody (sink: object): void {
  inBody.add(sink)
}

/** What a response that is to end with trailers needs of the client's response (Http2ServerResponse's addTrailers). */
export interface TrailerSink {
  addTrailers (headers: OutgoingHttpHeaders): void
}

/**
 * Passes a gRPC response's trailers to the client: grpc-status, grpc-message and any metadata
 * (`-bin` included) the backend put there. A call with no messages may come back
 * "trailers-only" (the status in the headers, no trailers): its status goes in the trailers
 * too, where every gRPC client reads it once a response has a body.
 * Registered before the body is handed to the reply, so the trailers are added before the
 * reply's own end listener ends the response. `onStatus` hears the grpc-status passed on
 * (undefined when there was none), for the access log and metrics.
 */
export function passTrailers (body: Readable, headers: IncomingHttpHeaders, sink: TrailerSink, onStatus?: (status: string | string[] | undefined) => void): void {
  if (inBody.has(sink)) return
  body.once('end', () => {
    const trailers = (body as Carrier)[kTrailers]
    const out: OutgoingHttpHeaders = {}
    let any = false
    if (trailers !== undefined) {
      for (const name in trailers) {
        const value = trailers[name]
        if (value === undefined || name.startsWith(':')) continue
        out[name] = value
        any = true
      }
    }
    if (!any && headers['grpc-status'] !== undefined) {
      out['grpc-status'] = headers['grpc-status']
      if (headers['grpc-message'] !== undefined) out['grpc-message'] = headers['grpc-message']
      any = true
    }
    if (out['grpc-status'] === undefined) {
      // A call must end with a status (gRPC over HTTP/2); a backend that sent none leaves a
      // client to guess, or to wait. UNKNOWN is what gRPC's own clients make of it, said once
      // here for every client.
      out['grpc-status'] = String(GRPC_STATUS.UNKNOWN)
      out['grpc-message'] = NO_STATUS_MESSAGE
      any = true
    }
    onStatus?.(out['grpc-status'] as string | string[] | undefined)
    if (any) {
      try {
        sink.addTrailers(out)
      } catch {
        // A trailer Node will not send (a bad name or value from the backend): the response
        // ends without it, and the client sees a call without a status, as from a broken backend.
      }
    }
  })
}
