import type CachePolicy from 'http-cache-semantics'
import { cacheControl } from './directives'
import { parseHttpDate } from './http-date'
import { targetedDirectives } from './targeted'

type Headers = Record<string, string | string[] | undefined>

/** Response directives as http-cache-semantics keeps them: lowercase name → value, true for none. */
export type Directives = Record<string, string | true>

/** The statuses whose caching rules http-cache-semantics knows (its own list, which it does not export). */
const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501])

export interface LibraryView {
  /** What the library is given to reason from. */
  response: { status: number, headers: Headers }
  /** The directives it decides by, in place of its own parse. */
  directives: Directives
  /** Fields to serve as the origin sent them, where `response` carries a corrected value. */
  served?: Headers
}

/**
 * The response as http-cache-semantics should see it, correcting where it reads RFC 9111 too
 * leniently or too narrowly. Built once per stored response (a miss or a 304), never on a hit.
 * - Directive names in any case (§5.2), and a targeted field (RFC 9213) in place of
 *   Cache-Control and Expires when one is valid (lib/cache/targeted.ts).
 * - Expires strictly an HTTP-date (§5.3, RFC 9110 §5.6.7): an invalid one is "0", already
 *   expired; an RFC 850 or asctime one becomes the IMF-fixdate the library reads right.
 * - Age only as delta-seconds (§5.1): "7200.0" or "-1" is ignored; of a list, the first.
 * - Date added when the origin sent none, as the time received (RFC 9110 §6.6.1), so that a
 *   hit serves the same Date every time.
 * - Any final status with explicit freshness is stored (§3 allows it for a status the cache
 *   does not otherwise know): the library, which knows only its list, reasons about it as a
 *   200 (the entry keeps the real status). Not with must-understand (§5.2.2.3), which asks the
 *   opposite; with it, a status the cache does know ignores no-store.
 */
export function libraryView (res: { status: number, headers: Headers }, now: number): LibraryView {
  const headers: Headers = { ...res.headers }
  let served: Headers | undefined
  const targeted = targetedDirectives(headers)
  const directives = targeted ?? Object.fromEntries(cacheControl(headers['cache-control']))
  if (targeted === undefined && headers['cache-control'] === undefined && /no-cache/.test(String(headers.pragma ?? ''))) {
    // RFC 9111 §5.4: Pragma: no-cache without Cache-Control counts as no-cache (the library's own rule, kept).
    directives['no-cache'] = true
  }
  const expires = headers.expires
  if (expires !== undefined) {
    served = { expires }
    if (targeted !== undefined) delete headers.expires
    else {
      const t = parseHttpDate(String(expires), now)
      headers.expires = Number.isNaN(t) ? '0' : new Date(t).toUTCString()
    }
  }
  if (headers.age !== undefined) {
    // Of several values (a list, or repeated lines) the first counts, as the library reads it.
    const first = String(headers.age).split(',')[0].trim()
    if (/^\d+$/.test(first)) headers.age = first
    else delete headers.age
  }
  if (headers.date === undefined) headers.date = new Date(now).toUTCString()
  let status = res.status
  if (directives['must-understand'] !== undefined) {
    if (UNDERSTOOD.has(status)) delete directives['no-store']
  } else if (!UNDERSTOOD.has(status) && status >= 200 && status !== 206 && status !== 304 && explicit(directives, headers)) {
    status = 200
  }
  return { response: { status, headers } as CachePolicy.Response & { status: number, headers: Headers }, directives, served }
}

function explicit (directives: Directives, headers: Headers): boolean {
  return directives['max-age'] !== undefined || directives['s-maxage'] !== undefined || headers.expires !== undefined
}
