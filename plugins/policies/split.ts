import fp from 'fastify-plugin'
import { bodyBlindHook } from '../proxy/direct-send'
import type { FastifyInstance, onErrorHookHandler, onSendHookHandler, preHandlerHookHandler } from 'fastify'
import type { GatewayRoute, StickyOptions } from '../../lib/config'
import { SPLIT_COOKIE_PREFIX } from '../../lib/config/defaults'
import { encodeClaim, readClaim, takeCookie } from '../../lib/upstreams/sticky-cookie'
import { GroupTokens } from '../../lib/routing/group-token'
import type { HookFactory } from './pipeline'

declare module 'fastify' {
  interface FastifyRequest {
    /** The group cookie to set on a split route whose chosen group is sticky; null otherwise. */
    [kGroupCookie]: GroupCookie | null
  }
}

const kGroupCookie = Symbol('gatehouse.split')

interface GroupCookie {
  name: string
  token: string
  options: StickyOptions
  /** The client's cookie named this group and is not past half its life: nothing to set. */
  fresh: boolean
  /** The gateway answered with an error of its own: no cookie for it. */
  failed: boolean
}

/**
 * A route's `upstream` as a list of weighted groups: the `split` step (preHandler, before the
 * sticky hint, which then looks for a server in the chosen group) chooses the group by weight
 * (lib/routing/split-table.ts), and the handler sends to it (routes/proxy.ts). When that group
 * is sticky (its `sticky` options, and a cookieSecret), the answer sets a group cookie
 * (`gh_split_<route index>`, the sticky cookie's signed claim with the group's opaque id,
 * lifetime and attributes), and the client's later requests stay on that group for as long as
 * it is on the route with a weight above 0: a weight change moves new clients only, and
 * setting a group to 0 moves its clients at their next request. Traefik's weighted service
 * with `sticky.cookie` does the same.
 */
async function split (fastify: FastifyInstance) {
  const secret = () => fastify.gatehouse.config.cookieSecret
  fastify.decorateRequest(kGroupCookie, null)

  const choose: HookFactory<'preHandler'> = route => route.split === undefined ? undefined : chooser(route)
  const failed: HookFactory<'onError'> = route => route.split === undefined ? undefined : gatehouseSplitFailed
  const setCookie: HookFactory<'onSend'> = route => route.split === undefined ? undefined : gatehouseSplitCookie
  fastify.gatehousePipeline.provide({ split: choose, 'split-failed': failed, 'split-cookie': setCookie })

  function chooser (route: GatewayRoute): preHandlerHookHandler {
    const index = route.index
    const name = `${SPLIT_COOKIE_PREFIX}${index}`
    const tokens = new GroupTokens(index, secret)
    return function gatehouseSplit (request, reply, done) {
      const weights = fastify.gatehouse.splits.get(index)
      if (weights === undefined) {
        done()
        return
      }
      const raw = takeCookie(request.raw.headers, name)
      const signing = secret() !== undefined
      let group: string | undefined
      let fresh = false
      if (raw !== undefined && signing) {
        const now = Date.now()
        const claim = readClaim(fastify.unsignCookie(raw), now)
        const named = claim === undefined ? undefined : tokens.find(weights.names(), claim.token)
        const options = named === undefined ? undefined : fastify.gatehouse.config.upstreams.get(named)?.sticky
        // Honoured while the group is sticky, on the route, and taking clients (weight above 0).
        if (claim !== undefined && named !== undefined && options !== undefined && weights.weightOf(named) > 0) {
          group = named
          fresh = claim.expires - now >= options.ttl / 2
        }
      }
      group ??= weights.choose()
      request.chosenUpstream = group
      const options = signing ? fastify.gatehouse.config.upstreams.get(group)?.sticky : undefined
      if (options !== undefined) request[kGroupCookie] = { name, token: tokens.of(group), options, fresh, failed: false }
      done()
    }
  }

  const gatehouseSplitFailed: onErrorHookHandler = (request, reply, error, done) => {
    const cookie = request[kGroupCookie]
    if (cookie !== null) cookie.failed = true
    done()
  }

  // After the answer is known, as the sticky cookie: a refused request (a filter, the rate
  // limit) or one the gateway failed gets no cookie, so a client is held only to a group that answered.
  // It only sets a header: body-blind, so the answer may still go straight to the client.
  const gatehouseSplitCookie: onSendHookHandler = bodyBlindHook((request, reply, payload, done) => {
    const cookie = request[kGroupCookie]
    if (cookie === null || cookie.fresh || cookie.failed || request.backend === null) {
      done()
      return
    }
    const { options } = cookie
    const value = fastify.signCookie(encodeClaim({ token: cookie.token, expires: Date.now() + options.ttl }))
    reply.header('set-cookie', fastify.serializeCookie(cookie.name, value, {
      path: '/',
      maxAge: Math.max(1, Math.ceil(options.ttl / 1000)),
      httpOnly: options.httpOnly,
      secure: options.secure,
      sameSite: options.sameSite
    }))
    done()
  })
}

export default fp(split, { fastify: '5.x', name: 'gatehouse-split', dependencies: ['gatehouse-pipeline', 'gatehouse-upstreams', 'gatehouse-sticky'] })
