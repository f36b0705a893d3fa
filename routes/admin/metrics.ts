import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

export interface MetricsRouteOptions {
  registry: Registry
}

/** Prometheus text format, with the content type (and format version) the registry names. */
export default async function metrics (admin: FastifyInstance, opts: MetricsRouteOptions) {
  admin.get('/metrics', async (request, reply) => {
    const body = await opts.registry.metrics()
    return await reply.type(opts.registry.contentType).send(body)
  })
}
