import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest, onErrorHookHandler, onSendHookHandler, preHandlerHookHandler } from 'fastify'
import type { StickyOptions } from '../../lib/config'
import { TokenCache, encodeClaim, readClaim, reloadableSigner, sharedCookieNames, takeCookie } from '../../lib/upstreams/sticky-cookie'
import type { HookFactory } from './pipeline'
import { bodyBlindHook, withBodyBlindHooks } from '../proxy/direct-send'

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
 * Sticky sessions: on a sticky upstream the first response sets a signed cookie
 * naming the chosen server by an opaque id, and later requests carrying it prefer that
 * server while it is ready. The id is an HMAC of the upstream name and server id under
 * cookieSecret, so every instance sharing the secret reads every other's cookies, across
 * restarts, without the cookie ever revealing an address.
 */
async function sticky (fastify: FastifyInstance) {
  const secret = () => fastify.gatehouse.config.cookieSecret
  const tokens = new TokenCache(secret)

  // Its onSend hook only turns cookies set by reply.setCookie into a header.
  await withBodyBlindHooks(fastify, () => fastify.register(cookie, {
    secret: reloadableSigner(secret),
    // Only sticky routes read a cookie, and only one: no parsing of every request's header.
    hook: false
  }))

  warnOnSharedCookieNames(fastify)

  fastify.decorateRequest(kSticky, null)

  // Three hooks on each gateway route that has an upstream, its name in the closure
  // (request.routeOptions would build a fresh object per request). Whether that upstream is
  // sticky is looked up per request, so that a reload turning stickiness on or off applies at once.
  // A split route's group is chosen per request, by the split step before this one.
  const hint: HookFactory<'preHandler'> = route => route.upstream === undefined ? undefined : route.split !== undefined ? splitStickyHint : stickyHint(route.upstream)
  const failed: HookFactory<'onError'> = route => route.upstream === undefined ? undefined : gatehouseStickyFailed
  const setCookie: HookFactory<'onSend'> = route => route.upstream === undefined ? undefined : gatehouseStickyCookie
  fastify.gatehousePipeline.provide({ 'sticky-hint': hint, 'sticky-failed': failed, 'sticky-cookie': setCookie })

  const stickyHint = (name: string): preHandlerHookHandler => function gatehouseStickyHint (request, reply, done) {
    hintFor(name, request)
    done()
  }
  const splitStickyHint: preHandlerHookHandler = function gatehouseStickyHint (request, reply, done) {
    if (request.chosenUpstream !== null) hintFor(request.chosenUpstream, request)
    done()
  }

  function hintFor (name: string, request: FastifyRequest): void {
    const options = fastify.gatehouse.config.upstreams.get(name)?.sticky
    const upstream = fastify.gatehouse.registry.get(name)
    if (options === undefined || upstream === undefined || secret() === undefined) return
    const state: StickyState = { options, server: null, renew: false, failed: false }
    request[kSticky] = state
    const raw = takeCookie(request.raw.headers, options.cookie)
    if (raw !== undefined) {
      const now = Date.now()
      const claim = readClaim(fastify.unsignCookie(raw), now)
      const server = claim === undefined ? undefined : tokens.find(upstream, claim.token)
      if (claim !== undefined && server !== undefined) {
        state.server = server.id
        state.renew = claim.expires - now < options.ttl / 2
        request.preferredBackend = server.id
      }
    }
  }

  const gatehouseStickyFailed: onErrorHookHandler = (request, reply, error, done) => {
    const state = request[kSticky]
    if (state !== null) state.failed = true
    done()
  }

  // onSend, after reply-from has copied the backend's headers: Fastify appends a set-cookie
  // value to those already there, so the backend's own cookies go out next to ours.
  const gatehouseStickyCookie: onSendHookHandler = (request, reply, payload, done) => {
    const state = request[kSticky]
    const backend = request.backend
    const upstream = request.upstream
    if (state === null || state.failed || backend === null || upstream === null) {
      done()
      return
    }
    if (backend.id !== state.server || state.renew) setStickyCookie(fastify, reply, state.options, tokens.of(upstream, backend))
    done()
  }
  // It only sets a header: the answer may be written directly (plugins/proxy/direct-send.ts).
  bodyBlindHook(gatehouseStickyCookie)
}

function setStickyCookie (fastify: FastifyInstance, reply: FastifyReply, options: StickyOptions, token: string): void {
  const expires = Date.now() + options.ttl
  const value = fastify.signCookie(encodeClaim({ token, expires }))
  reply.header('set-cookie', fastify.serializeCookie(options.cookie, value, {
    path: '/',
    // A Max-Age of 0 would delete the cookie at once; the signed expiry is the precise limit.
    maxAge: Math.max(1, Math.ceil(options.ttl / 1000)),
    httpOnly: options.httpOnly,
    secure: options.secure,
    sameSite: options.sameSite
  }))
}

// Two sticky upstreams sharing a cookie name overwrite each other's cookie on every switch.
function warnOnSharedCookieNames (fastify: FastifyInstance): void {
  for (const clash of sharedCookieNames(fastify.gatehouse.config.upstreams.values())) {
    fastify.log.warn(clash, 'sticky upstreams share a cookie name: their sessions will not stick; give each its own')
  }
}

export default fp(sticky, { fastify: '5.x', name: 'gatehouse-sticky', dependencies: ['gatehouse-pipeline', 'gatehouse-upstreams', 'gatehouse-forward'] })
