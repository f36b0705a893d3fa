import type { Dispatcher } from 'undici'

type Callback = (err: Error | null, data: Dispatcher.ResponseData) => void
type Handler = Dispatcher.DispatchHandler & { onComplete?: (trailers: unknown) => unknown }

/**
 * undici's request() on an HTTP/2 connection, with the response trailers kept. undici 7's
 * HTTP/2 client hands the trailers to request()'s handler as a header object, where the
 * handler reads the flat [name, value, ...] list HTTP/1.1 gives it: `trailers` stays empty,
 * and a gRPC call would lose its status. Here they are handed over as that list.
 */
export function requestKeepingTrailers (pool: Dispatcher, opts: Dispatcher.RequestOptions, cb: Callback): void {
  const shim = {
    dispatch (o: Dispatcher.DispatchOptions, handler: Handler): boolean {
      const complete = handler.onComplete
      if (typeof complete === 'function') {
        handler.onComplete = function (trailers: unknown) {
          return complete.call(this, Array.isArray(trailers) || trailers === null || typeof trailers !== 'object' ? trailers : flatten(trailers as Record<string, unknown>))
        }
      }
      return pool.dispatch(o, handler)
    }
  }
  // request() is undici's own, run on the shim: it builds its handler and calls this.dispatch.
  ;(pool.request as unknown as (this: unknown, o: Dispatcher.RequestOptions, cb: Callback) => void).call(shim, opts, cb)
}

function flatten (trailers: Record<string, unknown>): unknown[] {
  const out: unknown[] = []
  for (const name in trailers) {
    const value = trailers[name]
    if (value !== undefined) out.push(name, value)
  }
  return out
}
