import { createHmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { Signer } from '@fastify/cookie'
import type { Backend } from './backend'
import type { Upstream } from './upstream'

/**
 * The sticky cookie itself, apart from the hooks that read and set it (as Traefik keeps its
 * `Sticky` apart from the balancer): what the cookie carries, how it is read out of a Cookie
 * header, and the opaque server ids it names servers by. Nothing here knows about Fastify.
 *
 * The value, before signing, is `<token>.<expiry in ms since the epoch, base 36>`; the token
 * is an HMAC of the upstream name and server id, so every instance sharing the secret reads
 * every other's cookies without the cookie ever revealing an address.
 */

export interface StickyClaim {
  /** The opaque id of the server the cookie names. */
  token: string
  /** When the cookie stops being honoured, in ms since the epoch. */
  expires: number
}

/** The unsigned cookie value for a claim. */
export function encodeClaim (claim: StickyClaim): string {
  return `${claim.token}.${claim.expires.toString(36)}`
}

/** The claim an unsigned cookie carries, or undefined for a tampered, malformed or expired one. */
export function readClaim (unsigned: { valid: boolean, value: string | null }, now: number): StickyClaim | undefined {
  if (!unsigned.valid || unsigned.value === null) return undefined
  const dot = unsigned.value.indexOf('.')
  if (dot <= 0) return undefined
  const expires = parseInt(unsigned.value.slice(dot + 1), 36)
  if (!Number.isSafeInteger(expires) || expires <= now) return undefined
  return { token: unsigned.value.slice(0, dot), expires }
}

/**
 * Removes the cookie `name` from the Cookie header in `headers` (the one the backend will get)
 * and returns its value; the client's other cookies pass through untouched.
 */
export function takeCookie (headers: IncomingHttpHeaders, name: string): string | undefined {
  const header = headers.cookie
  if (header === undefined || !header.includes(name)) return undefined
  let found: string | undefined
  const rest: string[] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      found ??= decodeCookieValue(part.slice(eq + 1).trim())
    } else if (part.trim() !== '') {
      rest.push(part.trim())
    }
  }
  if (found === undefined) return undefined
  if (rest.length === 0) delete headers.cookie
  else headers.cookie = rest.join('; ')
  return found
}

// RFC 6265 allows a quoted value; browsers percent-encode what cookie-octet does not allow.
export function decodeCookieValue (value: string): string {
  const unquoted = value.length > 1 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
  if (!unquoted.includes('%')) return unquoted
  try {
    return decodeURIComponent(unquoted)
  } catch {
    return unquoted
  }
}

/**
 * Opaque ids per server, computed once per server object (an HMAC per request would cost
 * more than the proxying) and again only if a reload changed the secret.
 */
export class TokenCache {
  private readonly cache = new WeakMap<Backend, { secret: string, token: string }>()

  constructor (private readonly secret: () => string | undefined) {}

  of (upstream: Upstream, backend: Backend): string {
    const secret = this.secret() as string
    const hit = this.cache.get(backend)
    if (hit !== undefined && hit.secret === secret) return hit.token
    // Domain-separated from cookie signing, which uses the same secret.
    const token = createHmac('sha256', secret).update(`gatehouse-sticky\0${upstream.name}\0${backend.id}`).digest('base64url').slice(0, 16)
    this.cache.set(backend, { secret, token })
    return token
  }

  /** Looked up among the group's current servers, so a server a reload removed is simply unknown. */
  find (upstream: Upstream, token: string): Backend | undefined {
    for (const backend of upstream.backends.all()) {
      if (this.of(upstream, backend) === token) return backend
    }
    return undefined
  }
}

/** Signs with the secret in force, so that a reload that sets or changes cookieSecret applies. */
export function reloadableSigner (secret: () => string | undefined): Pick<Signer, 'sign' | 'unsign'> {
  let current: string | undefined
  let signer: Signer | undefined
  const get = (): Signer => {
    const s = secret()
    if (s === undefined) throw new Error('cookieSecret is not set')
    if (signer === undefined || s !== current) {
      signer = new Signer(s)
      current = s
    }
    return signer
  }
  return {
    sign: (value: string) => get().sign(value),
    unsign: (input: string) => get().unsign(input)
  }
}

/** Cookie names that more than one sticky upstream uses: such upstreams overwrite each other's cookie on every switch. */
export function sharedCookieNames (upstreams: Iterable<{ name: string, sticky?: { cookie: string } }>): Array<{ cookie: string, upstreams: [string, string] }> {
  const owners = new Map<string, string>()
  const clashes: Array<{ cookie: string, upstreams: [string, string] }> = []
  for (const upstream of upstreams) {
    if (upstream.sticky === undefined) continue
    const other = owners.get(upstream.sticky.cookie)
    if (other !== undefined) clashes.push({ cookie: upstream.sticky.cookie, upstreams: [other, upstream.name] })
    owners.set(upstream.sticky.cookie, upstream.name)
  }
  return clashes
}
