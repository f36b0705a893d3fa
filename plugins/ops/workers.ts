import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { WorkerChannel } from '../../lib/cluster/worker-channel'

declare module 'fastify' {
  interface FastifyInstance {
    /** Set in a worker of `gatehouse --workers N`: its channel to the primary (lib/cluster/). */
    gatehouseWorker?: WorkerChannel
  }
}

/**
 * A worker of `gatehouse --workers N`: counts the answers it sends (reported to the primary
 * once a second, for GET /workers) and makes its channel to the primary available to the
 * other plugins.
 */
async function workers (fastify: FastifyInstance, opts: { channel: WorkerChannel }) {
  let requests = 0
  fastify.decorate('gatehouseWorker', opts.channel)
  fastify.addHook('onResponse', (request, reply, done) => {
    requests++
    done()
  })
  opts.channel.reportRequests(() => requests)
  fastify.addHook('onClose', async () => opts.channel.close())
}

export default fp(workers, { fastify: '5.x', name: 'gatehouse-workers' })
