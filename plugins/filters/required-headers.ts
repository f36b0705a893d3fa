import fp from 'fastify-plugin'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import { HeaderRequiredError } from '../../lib/errors'
import { toArray } from '../../lib/to-array'
import { refuse } from './refuse'

/** `filters.requireHeaders`: a request without one of them (or with it empty) gets 401. */
async function requiredHeadersFilter (fastify: FastifyInstance) {
  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    const names = route?.filters?.requireHeaders
    if (route === undefined || names === undefined) return
    const gatehouseRequiredHeaders: onRequestHookHandler = (request, reply, done) => {
      for (const name of names) {
        const value = request.headers[name]
        if (value === undefined || value === '') {
          done(refuse(fastify, request, route, 'header', new HeaderRequiredError(name)))
          return
        }
      }
      done()
    }
    routeOptions.onRequest = [...toArray(routeOptions.onRequest), gatehouseRequiredHeaders]
  })
}

export default fp(requiredHeadersFilter, { fastify: '5.x', name: 'gatehouse-filter-required-headers', dependencies: ['gatehouse-request-state'] })
