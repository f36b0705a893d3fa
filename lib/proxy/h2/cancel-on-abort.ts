import { subscribe } from 'node:diagnostics_channel'
import { setTimeout as delay } from 'node:timers/promises'
import type { ClientHttp2Stream } from 'node:http2'

let installed = false
// Node's own AbortError: a stream destroyed with one is reset with CANCEL (any other error is
// INTERNAL_ERROR). Node does not export the class; an aborted timer hands one over.
let AbortErrorClass: (new () => Error) | null = null

/**
 * An aborted backend request resets its HTTP/2 stream at once, with CANCEL. undici 7 aborts a
 * request by calling its stream's close() without a code and then destroying the body it
 * pipes into the stream; with a body still streaming (a gRPC call the client reset
 * mid-message) Node then never sent the RST_STREAM, and the backend held the call open,
 * waiting for the rest of a message that would never come. CANCEL is what RFC 9113 §8.7 names
 * for a stream no longer needed and what gRPC servers read as the call cancelled, as Envoy
 * resets an upstream stream when its client goes.
 * Installed once per process, for every HTTP/2 client stream: node:http2's
 * 'http2.client.stream.created' channel is the one place the stream undici creates is seen.
 */
export function cancelOnAbort (): void {
  if (installed) return
  installed = true
  delay(0, null, { signal: AbortSignal.abort() }).catch((err: Error) => { AbortErrorClass = err.constructor as new () => Error })
  subscribe('http2.client.stream.created', message => {
    const stream = (message as { stream: ClientHttp2Stream }).stream
    const close = stream.close
    stream.close = function (this: ClientHttp2Stream, code?: number, callback?: () => void) {
      if (code !== undefined || callback !== undefined || this.closed || AbortErrorClass === null) return close.call(this, code, callback)
      this.destroy(new AbortErrorClass())
    } as ClientHttp2Stream['close']
  })
}
