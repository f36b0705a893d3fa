import type { onSendHookHandler, preHandlerHookHandler } from 'fastify'
import { bodyBlindHook } from '../../proxy/direct-send'
import { applyToRequest, applyToResponse, compileRules } from '../../../lib/filters/header-rules'
import type { HookFactory } from '../pipeline'

/**
 * `requestHeaders`: a preHandler, after the filters and the policies have read the client's
 * headers, that changes the headers the forwarder then sends (which still adds X-Forwarded-*
 * and X-Request-Id itself).
 */
export const requestHeaderRules: HookFactory<'preHandler'> = route => {
  if (route.requestHeaders === undefined) return undefined
  const rules = compileRules(route.requestHeaders)
  const gatehouseRequestHeaders: preHandlerHookHandler = (request, reply, done) => {
    applyToRequest(request.headers, rules, request)
    done()
  }
  return gatehouseRequestHeaders
}

/**
 * `responseHeaders`: in onSend, so that the rules reach every answer of the route: a
 * backend's, and the gateway's own errors (403, 502, …) alike.
 */
export const responseHeaderRules: HookFactory<'onSend'> = route => {
  if (route.responseHeaders === undefined) return undefined
  const rules = compileRules(route.responseHeaders)
  const gatehouseResponseHeaders: onSendHookHandler = (request, reply, payload, done) => {
    applyToResponse(reply, rules, request)
    done(null, payload)
  }
  // Headers only: the answer may still be written directly (plugins/proxy/direct-send.ts).
  return bodyBlindHook(gatehouseResponseHeaders)
}
