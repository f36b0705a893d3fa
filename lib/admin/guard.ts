import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import { isLoopback } from '../config/normalize/admin'

/** The dashboard's session cookie: httpOnly, SameSite=Strict, a random session id (lib/admin/sessions.ts), never the token. */
export const SESSION_COOKIE = 'gh_admin'

/**
 * Whether two secrets are equal, in time that does not depend on where they differ. Both
 * are hashed first so that the lengths match too: timingSafeEqual throws on unequal
 * lengths, and returning early then would tell the token's length.
 */
export function sameSecret (given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** The token of an `Authorization: Bearer TOKEN` header (RFC 6750 section 2.1), if any. */
export function bearerOf (header: string | undefined): string | undefined {
  const m = /^Bearer +([^\s]+) *$/i.exec(header ?? '')
  return m?.[1]
}

/** One cookie's value from a Cookie header, if present. */
export function cookieOf (header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * Whether the admin API answers a request with this Host header: a loopback address or name,
 * or one listed in admin.hosts. A page on another site that rebinds its own name to 127.0.0.1
 * (DNS rebinding) still sends its own name as Host, so it is refused. The header is read
 * strictly as RFC 3986's host and port, so that `[::1]evil.example` or `127.0.0.1@evil`
 * is no loopback address but a malformed Host, refused.
 */
export function hostAllowed (host: string | undefined, allowed: readonly string[]): boolean {
  if (host === undefined || host === '') return false
  const name = hostName(host.toLowerCase())
  return name !== undefined && (isLoopback(name) || allowed.includes(name))
}

// An IP literal in brackets, or a name of letters, digits, dots and dashes (an IPv4 address is one); then an optional port.
const HOST = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::[0-9]{1,5})?$/

/** The host of a Host header without its port: "[::1]:9901" → "::1", "a.b:80" → "a.b"; undefined when it is not one. */
function hostName (host: string): string | undefined {
  const m = HOST.exec(host)
  if (m === null) return undefined
  if (m[1] !== undefined) return isIP(m[1]) === 6 ? m[1] : undefined
  return m[2]
}
