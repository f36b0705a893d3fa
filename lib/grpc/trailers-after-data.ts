import { subscribe } from 'node:diagnostics_channel'
import type { ClientHttp2Stream } from 'node:http2'

let installed = false

/**
 * Keeps a response's trailers behind the DATA received before them. Node emits an HTTP/2
 * stream's 'trailers' as the frame arrives, even while the stream is paused with DATA still
 * in its read buffer; undici 7's HTTP/2 client completes the request on that event and stops
 * reading, so the buffered tail of a streamed answer (the last messages of a gRPC server
 * stream read with backpressure) was dropped while the call still ended OK. Here a stream
 * with buffered data gets its 'trailers' event once the last buffered chunk has been read,
 * which is the order they came in. Streams with nothing buffered are untouched.
 * Installed once per process, for every HTTP/2 client stream (node:http2's
 * 'http2.client.stream.created' channel is the one place the stream undici creates is seen);
 * for any reader the order is the wire's.
 */
export function holdTrailersBehindData (): void {
  if (installed) return
  installed = true
  subscribe('http2.client.stream.created', message => {
    hold((message as { stream: ClientHttp2Stream }).stream)
  })
}

function hold (stream: ClientHttp2Stream): void {
  const emit = stream.emit
  let held: unknown[] | null = null
  stream.emit = function (this: ClientHttp2Stream, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'trailers' && held === null && this.readableLength > 0) {
      held = args
      return true
    }
    const result = emit.call(this, event, ...args)
    if (event === 'data' && held !== null && this.readableLength === 0) {
      const trailers = held
      held = null
      emit.call(this, 'trailers', ...trailers)
    }
    return result
  } as ClientHttp2Stream['emit']
}
