// The request target as Gatehouse routes it (RFC 9112 §3.2): the checks and the one
// normalisation that make the path the router matches, the path stripPrefix cuts and the
// path a backend receives the same string. Framework-free; plugins/edge/strict-http.ts applies it.

/** A request target that Gatehouse refuses; `reason` is safe to show the client. */
export class TargetError extends Error {
  constructor (readonly reason: string) {
    super(reason)
    this.name = 'TargetError'
  }
}

const SLASH = 47
const DOT = 46
const PERCENT = 37
const QUERY = 63
const BACKSLASH = 92
const HASH = 35

/**
 * The origin-form target (`/path?query`) to route on, or a TargetError. The fast path is
 * one charCode loop that allocates nothing and returns `target` itself; only a `%` in the
 * path sends it through normalisation. Refused:
 *   - `\`: only `/` separates segments (RFC 3986 §3.3), but WHATWG URL parsers, browsers
 *     and some backends read `\` as `/`; routing on one reading and forwarding to a
 *     backend with the other is how `/public/x\..\..\private` walks out of a route.
 *   - `#`: a request target has no fragment (RFC 9112 §3.2); routers cut the path there.
 *   - dot segments `.` and `..`, raw or percent-encoded: clients remove them before sending
 *     (RFC 3986 §5.2.4), so one that arrives is an attempt to climb out of a route.
 *   - `%00` and broken percent-encoding (`%zz`, `%4`).
 * The query is left as it is: it is data, passed on byte for byte.
 */
export function originTarget (target: string): string {
  let percent = false
  const end = target.length
  for (let i = 0; i < end; i++) {
    const c = target.charCodeAt(i)
    if (c === QUERY) break
    if (c === PERCENT) percent = true
    else if (c === BACKSLASH) throw new TargetError('backslash in path')
    else if (c === HASH) throw new TargetError('fragment in request target')
    else if (c === DOT && target.charCodeAt(i - 1) === SLASH && isDotSegment(target, i)) throw new TargetError('dot segment in path')
  }
  if (!percent) return target
  const normalized = decodeUnreserved(target)
  // Decoding may have made a dot segment out of `%2e`; a second scan, on the rare slow path.
  if (hasDotSegment(normalized)) throw new TargetError('dot segment in path')
  // `%2F` stays encoded, but a backend that decodes it before resolving the path would see
  // `/a%2F..%2Fb` as `/a/../b`: refused here, as reply-from would refuse it after selection.
  if (/%2f/i.test(normalized) && hasDotSegment(normalized.replace(/%2f/gi, '/'))) throw new TargetError('dot segment next to an encoded slash')
  return normalized
}

function hasDotSegment (s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === QUERY) return false
    if (c === DOT && s.charCodeAt(i - 1) === SLASH && isDotSegment(s, i)) return true
  }
  return false
}

/** Whether the segment that starts at `i` (just after a `/`) is `.` or `..`. */
function isDotSegment (s: string, i: number): boolean {
  let j = i + 1
  if (s.charCodeAt(j) === DOT) j++
  return j === s.length || s.charCodeAt(j) === SLASH || s.charCodeAt(j) === QUERY
}

/**
 * Percent-encoded unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~") decoded in the
 * path, as RFC 3986 §6.2.2.2 says is equivalent; every other encoding (`%2F`, `%3F`, `%25`,
 * non-ASCII bytes) stays as sent, since decoding it would change what the path means.
 */
function decodeUnreserved (target: string): string {
  let out = ''
  let from = 0
  let i = 0
  for (; i < target.length; i++) {
    const c = target.charCodeAt(i)
    if (c === QUERY) break
    if (c !== PERCENT) continue
    const hi = hexValue(target.charCodeAt(i + 1))
    const lo = hexValue(target.charCodeAt(i + 2))
    if (hi < 0 || lo < 0) throw new TargetError('broken percent-encoding in path')
    const byte = hi * 16 + lo
    if (byte === 0) throw new TargetError('encoded NUL in path')
    if (isUnreserved(byte)) {
      out += target.slice(from, i) + String.fromCharCode(byte)
      from = i + 3
    }
    i += 2
  }
  return from === 0 ? target : out + target.slice(from)
}

function hexValue (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}

function isUnreserved (c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) ||
    c === 45 || c === DOT || c === 95 || c === 126
}

export interface AbsoluteTarget {
  /** The authority, which replaces the Host header (RFC 9112 §3.2.2). */
  host: string
  /** The origin-form equivalent, checked and normalised as originTarget does. */
  target: string
}

/**
 * An absolute-form target (`http://host[:port]/path?query`), which a server must accept
 * (RFC 9112 §3.2.2). Only http and https name a resource Gatehouse can route; userinfo is
 * refused (deprecated, RFC 9110 §4.2.4). The host only takes part in routing: a backend is
 * never chosen from it, so this never makes Gatehouse an open proxy.
 */
export function absoluteTarget (target: string): AbsoluteTarget {
  const colon = target.indexOf('://')
  const scheme = colon === -1 ? '' : target.slice(0, colon).toLowerCase()
  if (scheme !== 'http' && scheme !== 'https') throw new TargetError('unsupported request target')
  const start = colon + 3
  let end = start
  while (end < target.length) {
    const c = target.charCodeAt(end)
    if (c === SLASH || c === QUERY || c === HASH) break
    end++
  }
  const host = target.slice(start, end)
  if (host.includes('@')) throw new TargetError('userinfo in request target')
  if (!isValidHost(host)) throw new TargetError('invalid host in request target')
  const rest = target.slice(end)
  return { host, target: originTarget(rest === '' || rest.charCodeAt(0) !== SLASH ? '/' + rest : rest) }
}

/**
 * Whether a Host value (or an absolute-form authority) is `host[:port]` (RFC 9110 §7.2,
 * RFC 3986 §3.2.2): a name of letters, digits, `-`, `.`, `_` and `~` without empty labels
 * (which also covers IPv4), or an `[IPv6]` literal, then an optional port of 1–5 digits.
 * Stricter than RFC 3986's reg-name, which admits sub-delims and percent-encoding that no
 * DNS name has; nginx refuses `/`, `\`, spaces and controls and `..` too.
 */
export function isValidHost (value: string): boolean {
  const len = value.length
  if (len === 0) return false
  let i = 0
  if (value.charCodeAt(0) === 91 /* [ */) {
    i = 1
    while (i < len && isIPv6Char(value.charCodeAt(i))) i++
    if (i < 3 || value.charCodeAt(i) !== 93 /* ] */) return false
    i++
  } else {
    let labelStart = 0
    for (; i < len; i++) {
      const c = value.charCodeAt(i)
      if (c === 58 /* : */) break
      if (c === DOT) {
        if (i === labelStart) return false
        labelStart = i + 1
      } else if (!isUnreserved(c)) {
        return false
      }
    }
    if (i === 0) return false
  }
  if (i === len) return true
  if (value.charCodeAt(i) !== 58) return false
  const digits = len - i - 1
  if (digits < 1 || digits > 5) return false
  for (let j = i + 1; j < len; j++) {
    const c = value.charCodeAt(j)
    if (c < 48 || c > 57) return false
  }
  return Number(value.slice(i + 1)) <= 65535
}

function isIPv6Char (c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === DOT
}
