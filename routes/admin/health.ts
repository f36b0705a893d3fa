import type { FastifyInstance } from 'fastify'

export interface HealthRouteOptions {
  /** True once the gateway began to close. */
  draining: () => boolean
}

const status = { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } as const

/**
 * 200 while serving, 503 once draining: the check for a TCP balancer in front of several
 * instances, so that it stops sending before the process exits.
 */
export default async function health (admin: FastifyInstance, opts: HealthRouteOptions) {
  admin.get('/health', { schema: { response: { 200: status, 503: status } } }, async (request, reply) => {
    if (opts.draining()) return await reply.code(503).send({ status: 'draining' })
    return { status: 'ok' }
  })
}
