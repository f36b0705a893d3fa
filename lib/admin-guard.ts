import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { isLoopback } from './config-admin'

/** The dashboard's session cookie (issue 13): httpOnly, SameSite=Strict, never the token itself. */
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

/**
 * The cookie value that stands for the token: derived from it, so that the token itself
 * is never stored in a browser, and every session ends when the token changes.
 */
export function sessionValue (token: string): string {
  return createHmac('sha256', token).update('gatehouse admin session').digest('base64url')
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

/** Whether the request carries the token, as a Bearer header or as the dashboard's cookie. */
export function authorized (headers: { authorization?: string, cookie?: string }, token: string): boolean {
  const bearer = bearerOf(headers.authorization)
  if (bearer !== undefined) return sameSecret(bearer, token)
  const cookie = cookieOf(headers.cookie, SESSION_COOKIE)
  return cookie !== undefined && sameSecret(cookie, sessionValue(token))
}

/**
 * Whether the admin API answers a request with this Host header: a loopback address or name,
 * or one listed in admin.hosts. A page on another site that rebinds its own name to 127.0.0.1
 * (DNS rebinding) still sends its own name as Host, so it is refused.
 */
export function hostAllowed (host: string | undefined, allowed: readonly string[]): boolean {
  if (host === undefined || host === '') return false
  const name = hostName(host.toLowerCase())
  return isLoopback(name) || allowed.includes(name)
}

/** The host of a Host header without its port: "[::1]:9901" → "::1", "a.b:80" → "a.b". */
function hostName (host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end === -1 ? host : host.slice(1, end)
  }
  const colon = host.lastIndexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}
