import type { FastifyInstance } from 'fastify'
import type { Gatehouse } from '../../lib/upstreams/gatehouse'
import { snapshot } from '../../lib/admin/upstream-snapshot'

export interface UpstreamsRouteOptions {
  gatehouse: Gatehouse
}

/** Every group and server: state, in-flight, attempts, failures (lib/admin/upstream-snapshot.ts). */
export default async function upstreams (admin: FastifyInstance, opts: UpstreamsRouteOptions) {
  // Read per request: a reload changes the groups in place.
  admin.get('/upstreams', async () => ({ upstreams: snapshot(opts.gatehouse.registry.all(), Date.now()) }))
}
