import fp from 'fastify-plugin'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import { BasicAuth } from '../../../lib/filters/basic-auth'
import { UnauthorizedError } from '../../../lib/errors'
import { toArray } from '../../../lib/to-array'
import { refuse } from './refuse'

/**
 * `filters.basicAuth` (RFC 7617) against bcrypt hashes. Registered after the rate limit
 * (app.ts), so that its onRequest hook runs after the limit's: a client guessing passwords
 * is limited before it costs a bcrypt check each. The credentials are the gateway's: the
 * Authorization header is removed before forwarding unless `passAuthorization` is set.
 */
async function basicAuthFilter (fastify: FastifyInstance) {
  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    const options = route?.filters?.basicAuth
    if (route === undefined || options === undefined) return
    const auth = new BasicAuth(options.users)
    // RFC 7617 §2.1: the charset parameter tells the client to send UTF-8.
    const challenge = `Basic realm="${options.realm}", charset="UTF-8"`
    const gatehouseBasicAuth: onRequestHookHandler = (request, reply, done) => {
      auth.verify(request.headers.authorization).then(user => {
        if (user === null) {
          reply.header('www-authenticate', challenge)
          done(refuse(fastify, request, route, 'basic-auth', new UnauthorizedError()))
          return
        }
        if (!options.passAuthorization) delete request.headers.authorization
        done()
      }, done)
    }
    routeOptions.onRequest = [...toArray(routeOptions.onRequest), gatehouseBasicAuth]
  })
}

export default fp(basicAuthFilter, { fastify: '5.x', name: 'gatehouse-filter-basic-auth', dependencies: ['gatehouse-request-state', 'gatehouse-error-handler'] })
