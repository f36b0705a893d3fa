import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import ip from './ip'
import methods from './methods'
import bodySize from './body-size'
import requiredHeaders from './required-headers'
import headers from './headers'
import redirect from './redirect'

/**
 * The request filters and header rules (issue 12), each an onRoute hook that hangs its own
 * hook on the gateway routes that use it. Registered in this order, so that on a route their
 * onRequest hooks run cheapest first: address, method, declared size, required headers.
 * Basic auth is registered on its own, after the rate limit (see ./basic-auth.ts).
 */
async function filters (fastify: FastifyInstance, opts: { receiveTimeout: number }) {
  await fastify.register(ip)
  await fastify.register(methods)
  await fastify.register(bodySize, { receiveTimeout: opts.receiveTimeout })
  await fastify.register(requiredHeaders)
  await fastify.register(headers)
  await fastify.register(redirect)
}

export default fp(filters, { fastify: '5.x', name: 'gatehouse-filters' })
export { default as basicAuth } from './basic-auth'
