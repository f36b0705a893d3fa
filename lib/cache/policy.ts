import CachePolicy from 'http-cache-semantics'
import { cacheControl, seconds } from './directives'
import { libraryView, type Directives } from './library-view'
import { OWN_TARGETED_FIELD } from './targeted'

// The RFC 9111 rules themselves (storable?, fresh?, Age, Vary matching, what a 304 updates) are
// http-cache-semantics'; this file only adapts the gateway's headers to it and adds the two
// decisions it leaves to the cache: whether to keep a response at all, and when a stale one may go out.
// Where the library parses too leniently or too narrowly, it is handed a corrected view of the
// response (lib/cache/library-view.ts) and the fields it serves are put back as the origin sent them.

export type Headers = Record<string, string | string[] | undefined>

export interface Clock {
  now (): number
}

export type PolicyRequest = CachePolicy.Request & { headers: Headers }

/** The library's own state that the gateway reads or corrects (plain properties of the policy object). */
interface LibraryState {
  _rescc: Directives
  _resHeaders: Headers
}

/** A CachePolicy whose time is `clock`'s: the library reads time through its `now()` method alone ("monkey-patch it for testing"). */
export function policyMaker (clock: Clock): (req: PolicyRequest, res: CachePolicy.Response) => CachePolicy {
  class GatewayPolicy extends CachePolicy {
    /** Fields served as the origin sent them where the library reasons from a corrected value (an invalid Expires); usually undefined. */
    declare private served: Headers | undefined

    constructor (req: PolicyRequest, res: CachePolicy.Response, options?: CachePolicy.Options) {
      // fromObject() constructs with no response: the state is copied in whole.
      if (res === undefined) {
        super(req, res, options)
        return
      }
      const view = libraryView(res as { status: number, headers: Headers }, clock.now())
      super(req, view.response, options)
      ;(this as unknown as LibraryState)._rescc = view.directives
      this.served = view.served
    }

    now (): number {
      return clock.now()
    }

    responseHeaders (): CachePolicy.Headers {
      const headers = super.responseHeaders()
      // RFC 9110 §6.6.1: Date is when the origin made the response, and a cache passes it on
      // unchanged (the library stamps its own now, as if the response were new). The view
      // always has one: when the origin sent none, the time it was received.
      headers.date = (this as unknown as LibraryState)._resHeaders.date as string
      if (this.served !== undefined) Object.assign(headers, this.served)
      if (headers[OWN_TARGETED_FIELD] !== undefined) delete headers[OWN_TARGETED_FIELD]
      return headers
    }
  }
  // shared: a proxy for many users, so `private` is not stored and `s-maxage` counts (RFC 9111 §3, §5.2.2.10).
  return (req, res) => new GatewayPolicy(req as PolicyRequest, res, { shared: true })
}

/** The response directives the policy decides by: Cache-Control's (names in any case), or a targeted field's that replaced it (RFC 9213). */
export function directivesOf (policy: CachePolicy): Directives {
  return (policy as unknown as LibraryState)._rescc
}

/** The request as the policy sees it. A HEAD is looked up as the GET it mirrors (RFC 9110 §9.3.2). */
export function policyRequest (url: string, headers: Headers): PolicyRequest {
  return { url, method: 'GET', headers: flatten(headers, false) }
}

/** Response fields as the policy and the store keep them: one string per field, Set-Cookie's list kept. */
export function flatten (headers: Record<string, string | string[] | number | undefined>, keepCookies = true): Headers {
  const out: Headers = {}
  for (const name in headers) {
    const v = headers[name]
    if (v === undefined) continue
    out[name] = Array.isArray(v) ? (keepCookies && name === 'set-cookie' ? v : v.join(', ')) : String(v)
  }
  return out
}

/**
 * Whether a response is kept. The library's storable() covers RFC 9111 §3 (method, status,
 * no-store, private, Authorization); on top of it:
 * - Set-Cookie only with an explicit `public`: §7.3 allows storing it, but a shared cache that
 *   replays one user's cookie to the next is the classic leak (the library's maxAge() agrees).
 * - `Vary: *` never matches a later request (§4.1), so it is not worth the bytes.
 * - Something to reuse it for: a freshness lifetime, or a validator to revalidate it with.
 */
export function worthStoring (policy: CachePolicy, headers: Headers): boolean {
  if (!policy.storable()) return false
  if (headers['set-cookie'] !== undefined && directivesOf(policy).public === undefined) return false
  if (String(headers.vary ?? '').split(',').some(v => v.trim() === '*')) return false
  return policy.timeToLive() > 0 || headers.etag !== undefined || headers['last-modified'] !== undefined
}

/** How long past its freshness lifetime the stored response is, in ms (negative while fresh), RFC 9111 §4.2. */
export function staleness (policy: CachePolicy): number {
  return (policy.age() - policy.maxAge()) * 1000
}

/**
 * Whether a stored response may go out stale: on an error (stale-if-error) or while it is
 * refreshed (stale-while-revalidate), RFC 5861. The window is the response's own directive or
 * the configured one, whichever is longer, except that RFC 9111 §4.2.4 forbids any stale
 * answer the origin or the client ruled out: no-cache and must-revalidate (§5.2.2.2, §5.2.2.4),
 * proxy-revalidate (§5.2.2.8), and s-maxage, which implies proxy-revalidate for a shared cache
 * (§5.2.2.10), leave only the response's own directive; a client's no-cache (§5.2.1.4) leaves none.
 * A response still fresh may always answer an error.
 */
export function staleAllowed (policy: CachePolicy, request: Headers, kind: 'error' | 'revalidate', configured: number): boolean {
  const req = cacheControl(request['cache-control'])
  if (req.has('no-cache') || /no-cache/.test(String(request.pragma ?? ''))) return false
  const late = staleness(policy)
  if (late <= 0) return kind === 'error'
  const cc = directivesOf(policy)
  if (cc['no-cache'] !== undefined || cc['must-revalidate'] !== undefined || cc['proxy-revalidate'] !== undefined || cc['no-store'] !== undefined) return false
  const own = seconds(cc, kind === 'error' ? 'stale-if-error' : 'stale-while-revalidate')
  const window = Math.max(own, cc['s-maxage'] !== undefined ? 0 : configured)
  return late < window
}

/** What a stored response goes out with: the library's (Age updated, hop-by-hop fields gone), without its heuristic-age Warning (RFC 9111 obsoletes Warning, §5.5). */
export function servedHeaders (policy: CachePolicy): Headers {
  const headers = policy.responseHeaders() as Headers
  if (typeof headers.warning === 'string' && headers.warning.includes('113')) delete headers.warning
  return headers
}

/**
 * The library's evaluateRequest, except for one over-cautious rule: it revalidates a
 * must-revalidate response even while fresh, and gives proxy-revalidate a lifetime of 0 in a
 * shared cache. RFC 9111 §5.2.2.2 and §5.2.2.8 ask for revalidation only once the response is
 * stale, so such a response is judged again without those two directives while it is fresh.
 */
export function evaluate (policy: CachePolicy, req: PolicyRequest): ReturnType<CachePolicy['evaluateRequest']> {
  const result = policy.evaluateRequest(req)
  if (result.revalidation?.synchronous !== true) return result
  const cc = directivesOf(policy)
  if (cc['must-revalidate'] === undefined && cc['proxy-revalidate'] === undefined) return result
  const lenient = withoutRevalidate(policy)
  return lenient.stale() ? result : lenient.evaluateRequest(req)
}

function withoutRevalidate (policy: CachePolicy): CachePolicy {
  // toObject/fromObject are the library's own (de)serialisation; fromObject through the
  // policy's class keeps the gateway's clock.
  const obj = policy.toObject()
  const { 'must-revalidate': _m, 'proxy-revalidate': _p, ...rescc } = obj.rescc
  return (policy.constructor as typeof CachePolicy).fromObject({ ...obj, rescc })
}

/**
 * The library's revalidatedPolicy for a 304 to the validator the cache itself sent
 * (plugins/policies/cache.ts sends the stored ETag or Last-Modified). A 304 that repeats no
 * validator still speaks of the stored response, as nginx takes it; the library would match
 * it to nothing and make a policy of the 304's own few fields, losing the stored ones
 * (RFC 9111 §4.3.4 keeps them). So the validator that was sent is filled in.
 */
export function revalidated (policy: CachePolicy, req: PolicyRequest, res: { status: number, headers: Headers }): ReturnType<CachePolicy['revalidatedPolicy']> {
  let headers = res.headers
  if (headers.etag === undefined && headers['last-modified'] === undefined) {
    const stored = (policy as unknown as LibraryState)._resHeaders
    headers = { ...headers }
    if (stored.etag !== undefined) headers.etag = stored.etag
    else if (stored['last-modified'] !== undefined) headers['last-modified'] = stored['last-modified']
  }
  return policy.revalidatedPolicy(req, { status: res.status, headers: headers as CachePolicy.Headers })
}
