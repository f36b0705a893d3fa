import type { FastifyInstance } from 'fastify'
import { AggregatorRegistry, type Registry } from 'prom-client'

export interface MetricsRouteOptions {
  registry: Registry
  /** Under workers: the other workers' metrics (prom-client's JSON), summed with this one's. */
  others?: () => Promise<unknown[]>
}

/** Prometheus text format, with the content type (and format version) the registry names. */
export default async function metrics (admin: FastifyInstance, opts: MetricsRouteOptions) {
  admin.get('/metrics', async (request, reply) => {
    const body = opts.others === undefined
      ? await opts.registry.metrics()
      // prom-client's cluster aggregation: counters summed, each metric by its own aggregator.
      : await AggregatorRegistry.aggregate([await opts.registry.getMetricsAsJSON(), ...(await opts.others()) as Array<Awaited<ReturnType<Registry['getMetricsAsJSON']>>>]).metrics()
    return await reply.type(opts.registry.contentType).send(body)
  })
}
