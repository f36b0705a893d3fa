import fp from 'fastify-plugin'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import { HeaderRequiredError } from '../../../lib/errors'
import { toArray } from '../../../lib/to-array'
import { refuse } from './refuse'

/** `filters.requireHeaders`: a request without one of them (or with it empty: every comma-separated element blank) gets 401. */
async function requiredHeadersFilter (fastify: FastifyInstance) {
  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    const names = route?.filters?.requireHeaders
    if (route === undefined || names === undefined) return
    const gatehouseRequiredHeaders: onRequestHookHandler = (request, reply, done) => {
      for (const name of names) {
        const value = request.headers[name]
        if (isEmpty(value)) {
          done(refuse(fastify, request, route, 'header', new HeaderRequiredError(name)))
          return
        }
      }
      done()
    }
    routeOptions.onRequest = [...toArray(routeOptions.onRequest), gatehouseRequiredHeaders]
  })
}

/**
 * Whether a header value says nothing: absent, or every comma-separated element blank. A
 * header sent twice with empty values arrives joined as ", " (RFC 9110 §5.3), which is no
 * more a value than an absent one.
 */
function isEmpty (value: string | string[] | undefined): boolean {
  if (value === undefined) return true
  const text = Array.isArray(value) ? value.join(',') : value
  return /^[\s,]*$/.test(text)
}

export default fp(requiredHeadersFilter, { fastify: '5.x', name: 'gatehouse-filter-required-headers', dependencies: ['gatehouse-request-state'] })
