import type { onRequestHookHandler } from 'fastify'
import { BasicAuth } from '../../../lib/filters/basic-auth'
import { UnauthorizedError } from '../../../lib/errors'
import type { HookFactory } from '../pipeline'
import { refuse } from './refuse'

/**
 * `filters.basicAuth` (RFC 7617) against bcrypt hashes. Its step comes after the rate limit
 * (plugins/policies/pipeline.ts), so that a client guessing passwords is limited before it
 * costs a bcrypt check each. The credentials are the gateway's: the Authorization header is
 * removed before forwarding unless `passAuthorization` is set.
 */
export const basicAuthFilter: HookFactory<'onRequest'> = (route, { fastify }) => {
  const options = route.filters?.basicAuth
  if (options === undefined) return undefined
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
  return gatehouseBasicAuth
}
