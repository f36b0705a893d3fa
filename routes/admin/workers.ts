import type { FastifyInstance } from 'fastify'
import type { WorkerChannel } from '../../lib/cluster/worker-channel'

export interface WorkersRouteOptions {
  channel: WorkerChannel
}

/**
 * GET /workers under `gatehouse --workers N`: the primary's table (id, pid, state, startedAt,
 * requests served, version), asked through the IPC channel, and the count of workers that died.
 */
export default async function workers (admin: FastifyInstance, opts: WorkersRouteOptions) {
  admin.get('/workers', async () => await opts.channel.workers())
}
