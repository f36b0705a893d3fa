import fp from 'fastify-plugin'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import { MethodNotAllowedError } from '../../../lib/errors'
import { toArray } from '../../../lib/to-array'
import { refuse } from './refuse'

/**
 * `filters.methods`: other methods get 405 with `Allow` (RFC 9110 §15.5.6). Unlike
 * `match.methods`, which lets another route take the request, this answers it.
 */
async function methodsFilter (fastify: FastifyInstance) {
  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    const methods = route?.filters?.methods
    if (route === undefined || methods === undefined) return
    const allowed = new Set(methods)
    const allow = methods.join(', ')
    const gatehouseMethodsFilter: onRequestHookHandler = (request, reply, done) => {
      if (allowed.has(request.method)) {
        done()
        return
      }
      reply.header('allow', allow)
      done(refuse(fastify, request, route, 'method', new MethodNotAllowedError(request.method)))
    }
    routeOptions.onRequest = [...toArray(routeOptions.onRequest), gatehouseMethodsFilter]
  })
}

export default fp(methodsFilter, { fastify: '5.x', name: 'gatehouse-filter-methods', dependencies: ['gatehouse-request-state'] })
