import type { onRequestHookHandler } from 'fastify'
import { MethodNotAllowedError } from '../../../lib/errors'
import type { HookFactory } from '../pipeline'
import { refuse } from './refuse'

/**
 * `filters.methods`: other methods get 405 with `Allow` (RFC 9110 §15.5.6). Unlike
 * `match.methods`, which lets another route take the request, this answers it.
 */
export const methodsFilter: HookFactory<'onRequest'> = (route, { fastify }) => {
  const methods = route.filters?.methods
  if (methods === undefined) return undefined
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
  return gatehouseMethodsFilter
}
