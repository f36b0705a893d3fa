import fp from 'fastify-plugin'
import cookie, { Signer } from '@fastify/cookie'
import { createHmac } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify'
import { toArray } from '../lib/to-array'
import type { Backend } from '../lib/backend'
import type { StickyOptions } from '../lib/config'
import type { Upstream } from '../lib/upstream'

declare module 'fastify' {
  interface FastifyRequest {
    /** Sticky-session state of a request to a sticky upstream; null on every other request. */
    [kSticky]: StickyState | null
  }
}

const kSticky = Symbol('gatehouse.sticky')

interface StickyState {
  options: StickyOptions
  /** The server id the client's cookie named, when the cookie was valid, fresh and known. */
  server: string | null
  /** The cookie is valid but past half its life: issue a new one even for the same server. */
  renew: boolean
  /** The gateway answered with an error of its own: the client gets no cookie for it. */
  failed: boolean
}

/**
 * Sticky sessions (issue #4): on a sticky upstream the first response sets a signed cookie
 * naming the chosen server by an opaque id, and later requests carrying it prefer that
 * server while it is ready. The id is an HMAC of the upstream name and server id under
 * cookieSecret, so every instance sharing the secret reads every other's cookies, across
 * restarts, without the cookie ever revealing an address.
 */
async function sticky (fastify: FastifyInstance) {
  const secret = () => fastify.gatehouse.config.cookieSecret
  const tokens = new TokenCache(secret)

  await fastify.register(cookie, {
    secret: reloadableSigner(secret),
    // Only sticky routes read a cookie, and only one: no parsing of every request's header.
    hook: false
  })

  warnOnSharedCookieNames(fastify)

  fastify.decorateRequest(kSticky, null)

  // A preHandler on each gateway route, its upstream's name in the closure (request.routeOptions
  // would build a fresh object per request). Whether that upstream is sticky is looked up per
  // request, so that a reload turning stickiness on or off applies at once.
  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    if (route !== undefined) routeOptions.preHandler = [...toArray(routeOptions.preHandler), stickyHint(route.upstream)]
  })

  const stickyHint = (name: string): preHandlerHookHandler => (request, reply, done) => {
    const options = fastify.gatehouse.config.upstreams.get(name)?.sticky
    const upstream = fastify.gatehouse.registry.get(name)
    if (options === undefined || upstream === undefined || secret() === undefined) {
      done()
      return
    }
    const state: StickyState = { options, server: null, renew: false, failed: false }
    request[kSticky] = state
    const raw = takeCookie(request, options.cookie)
    if (raw !== undefined) {
      const now = Date.now()
      const claim = readClaim(fastify.unsignCookie(raw), now)
      // Looked up among the group's current servers, so a server a reload removed is simply unknown.
      const server = claim === undefined ? undefined : tokens.find(upstream, claim.token)
      if (claim !== undefined && server !== undefined) {
        state.server = server.id
        state.renew = claim.expires - now < options.ttl / 2
        request.preferredBackend = server.id
      }
    }
    done()
  }

  fastify.addHook('onError', (request, reply, error, done) => {
    const state = request[kSticky]
    if (state !== null) state.failed = true
    done()
  })

  // onSend, after reply-from has copied the backend's headers: Fastify appends a set-cookie
  // value to those already there, so the backend's own cookies go out next to ours.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const state = request[kSticky]
    const backend = request.backend
    const upstream = request.upstream
    if (state === null || state.failed || backend === null || upstream === null) {
      done()
      return
    }
    if (backend.id !== state.server || state.renew) setStickyCookie(fastify, reply, state.options, tokens.of(upstream, backend))
    done()
  })
}

function setStickyCookie (fastify: FastifyInstance, reply: FastifyReply, options: StickyOptions, token: string): void {
  const expires = Date.now() + options.ttl
  const value = fastify.signCookie(`${token}.${expires.toString(36)}`)
  reply.header('set-cookie', fastify.serializeCookie(options.cookie, value, {
    path: '/',
    // A Max-Age of 0 would delete the cookie at once; the signed expiry is the precise limit.
    maxAge: Math.max(1, Math.ceil(options.ttl / 1000)),
    httpOnly: options.httpOnly,
    secure: options.secure,
    sameSite: options.sameSite
  }))
}

/** The opaque server id and expiry a cookie carries, or undefined for a tampered, malformed or expired one. */
function readClaim (unsigned: { valid: boolean, value: string | null }, now: number): { token: string, expires: number } | undefined {
  if (!unsigned.valid || unsigned.value === null) return undefined
  const dot = unsigned.value.indexOf('.')
  if (dot <= 0) return undefined
  const expires = parseInt(unsigned.value.slice(dot + 1), 36)
  if (!Number.isSafeInteger(expires) || expires <= now) return undefined
  return { token: unsigned.value.slice(0, dot), expires }
}

/**
 * Removes the gateway's cookie from the Cookie header the backend will get and returns its
 * value; the client's other cookies pass through untouched.
 */
function takeCookie (request: FastifyRequest, name: string): string | undefined {
  const headers = request.raw.headers
  const header = headers.cookie
  if (header === undefined || !header.includes(name)) return undefined
  let found: string | undefined
  const rest: string[] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      found ??= decode(part.slice(eq + 1).trim())
    } else if (part.trim() !== '') {
      rest.push(part.trim())
    }
  }
  if (found === undefined) return undefined
  if (rest.length === 0) delete headers.cookie
  else headers.cookie = rest.join('; ')
  return found
}

function decode (value: string): string {
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
class TokenCache {
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

  find (upstream: Upstream, token: string): Backend | undefined {
    for (const backend of upstream.backends.all()) {
      if (this.of(upstream, backend) === token) return backend
    }
    return undefined
  }
}

/** Signs with the cookieSecret in force, so that a reload that sets or changes it applies. */
function reloadableSigner (secret: () => string | undefined) {
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

// Two sticky upstreams sharing a cookie name overwrite each other's cookie on every switch.
function warnOnSharedCookieNames (fastify: FastifyInstance): void {
  const owners = new Map<string, string>()
  for (const upstream of fastify.gatehouse.config.upstreams.values()) {
    if (upstream.sticky === undefined) continue
    const other = owners.get(upstream.sticky.cookie)
    if (other !== undefined) {
      fastify.log.warn({ cookie: upstream.sticky.cookie, upstreams: [other, upstream.name] }, 'sticky upstreams share a cookie name: their sessions will not stick; give each its own')
    }
    owners.set(upstream.sticky.cookie, upstream.name)
  }
}

export default fp(sticky, { fastify: '5.x', name: 'gatehouse-sticky', dependencies: ['gatehouse-upstreams', 'gatehouse-forward'] })
