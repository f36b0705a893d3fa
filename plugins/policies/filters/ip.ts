import type { onRequestHookHandler } from 'fastify'
import { ForbiddenError } from '../../../lib/errors'
import { addressAllowed, IpList } from '../../../lib/filters/ip-list'
import type { HookFactory } from '../pipeline'
import { refuse } from './refuse'

/**
 * `filters.allow` / `filters.deny`: an onRequest hook on the gateway routes that have them,
 * the lists compiled once in its closure. The address is request.ip, so Fastify's
 * trustProxy decides whether X-Forwarded-For counts (off by default: the peer address).
 */
export const ipFilter: HookFactory<'onRequest'> = (route, { fastify }) => {
  const filters = route.filters
  if (filters === undefined || (filters.allow === undefined && filters.deny === undefined)) return undefined
  const allow = new IpList(filters.allow ?? [])
  const deny = new IpList(filters.deny ?? [])
  const gatehouseIpFilter: onRequestHookHandler = (request, reply, done) => {
    if (addressAllowed(request.ip, allow, deny)) done()
    else done(refuse(fastify, request, route, 'ip', new ForbiddenError()))
  }
  return gatehouseIpFilter
}
