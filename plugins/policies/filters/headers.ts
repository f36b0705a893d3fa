import fp from 'fastify-plugin'
import type { FastifyInstance, onSendHookHandler, preHandlerHookHandler } from 'fastify'
import { applyToRequest, applyToResponse, compileRules } from '../../../lib/filters/header-rules'
import { toArray } from '../../../lib/to-array'

/**
 * `requestHeaders` and `responseHeaders`. The request rules run in a preHandler, after the
 * filters and the policies have read the client's headers, and change the headers the
 * forwarder then sends (which still adds X-Forwarded-* and X-Request-Id itself). The
 * response rules run in onSend, so they reach every answer of the route: a backend's, and
 * the gateway's own errors (403, 502, …) alike.
 */
async function headerRules (fastify: FastifyInstance) {
  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    if (route === undefined) return
    if (route.requestHeaders !== undefined) {
      const rules = compileRules(route.requestHeaders)
      const gatehouseRequestHeaders: preHandlerHookHandler = (request, reply, done) => {
        applyToRequest(request.headers, rules, request)
        done()
      }
      routeOptions.preHandler = [...toArray(routeOptions.preHandler), gatehouseRequestHeaders]
    }
    if (route.responseHeaders !== undefined) {
      const rules = compileRules(route.responseHeaders)
      const gatehouseResponseHeaders: onSendHookHandler = (request, reply, payload, done) => {
        applyToResponse(reply, rules, request)
        done(null, payload)
      }
      routeOptions.onSend = [...toArray(routeOptions.onSend), gatehouseResponseHeaders]
    }
  })
}

export default fp(headerRules, { fastify: '5.x', name: 'gatehouse-header-rules', dependencies: ['gatehouse-request-id'] })
