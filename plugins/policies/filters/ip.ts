import fp from 'fastify-plugin'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import { ForbiddenError } from '../../../lib/errors'
import { addressAllowed, IpList } from '../../../lib/filters/ip-list'
import { toArray } from '../../../lib/to-array'
import { refuse } from './refuse'

/**
 * `filters.allow` / `filters.deny`: an onRequest hook on the gateway routes that have them,
 * the lists compiled once in its closure. The address is request.ip, so Fastify's
 * trustProxy decides whether X-Forwarded-For counts (off by default: the peer address).
 */
async function ipFilter (fastify: FastifyInstance) {
  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    const filters = route?.filters
    if (route === undefined || filters === undefined || (filters.allow === undefined && filters.deny === undefined)) return
    const allow = new IpList(filters.allow ?? [])
    const deny = new IpList(filters.deny ?? [])
    const gatehouseIpFilter: onRequestHookHandler = (request, reply, done) => {
      if (addressAllowed(request.ip, allow, deny)) done()
      else done(refuse(fastify, request, route, 'ip', new ForbiddenError()))
    }
    routeOptions.onRequest = [...toArray(routeOptions.onRequest), gatehouseIpFilter]
  })
}

export default fp(ipFilter, { fastify: '5.x', name: 'gatehouse-filter-ip', dependencies: ['gatehouse-request-state'] })
