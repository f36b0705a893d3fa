import type { Dispatcher } from 'undici'

/**
 * The request target a backend gets, carried from the proxy to the pools beside the
 * headers. reply-from builds the upstream path as `new URL(path, origin).pathname` plus the
 * query: a WHATWG URL, which resolves dot segments, reads `\` as `/` in http URLs and
 * re-encodes some bytes, so the path sent could differ from the path routed (and
 * checked by the route's filters): a way past them.
 * reply-from copies our rewritten headers with Object.assign, which keeps symbol keys, and
 * hands them to OriginPools.request: there the exact string replaces its path. undici reads
 * headers with Object.keys, so the symbol itself is never sent.
 */
const kTarget = Symbol('gatehouse.upstreamTarget')

type Carrier = Record<string | symbol, unknown>

/** Sets the exact path and query that the backend must receive. */
export function carryTarget (headers: object, target: string): void {
  (headers as Carrier)[kTarget] = target
}

/** Makes the request's path the exact target carried in its headers, when there is one. */
export function applyTarget (opts: Dispatcher.RequestOptions): void {
  const target = (opts.headers as Carrier | null | undefined)?.[kTarget]
  if (typeof target === 'string') opts.path = target
}
