import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { WorkerChannel } from '../../lib/cluster/worker-channel'

/**
 * How long a draining worker keeps its idle keep-alive connections open. Closed at once (as
 * Node's server.close() does), a connection whose client is sending its next request at that
 * moment is reset: 2 in 6,500 requests under 64 connections in a rolling replacement. Kept
 * open, its next request is answered with `Connection: close` (close-on-drain) and the client
 * moves to another worker; what is still idle after this is closed. Envoy drains the same way
 * (a drain period of Connection: close before connections are closed).
 */
export const DRAIN_IDLE_GRACE_MS = 2_000

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
  // Past its share of limits.maxConnections (app.ts), a worker closes a new connection, as one
  // process does. node:cluster would otherwise hand it back to the primary for another worker,
  // and with every worker full it would go round without end.
  ;(fastify.server as typeof fastify.server & { dropMaxConnection?: boolean }).dropMaxConnection = true
  fastify.decorate('gatehouseWorker', opts.channel)
  fastify.addHook('onResponse', (request, reply, done) => {
    requests++
    done()
  })
  opts.channel.reportRequests(() => requests)
  fastify.addHook('preClose', (done) => {
    const server = fastify.server as typeof fastify.server & { closeIdleConnections?: () => void }
    const closeIdle = server.closeIdleConnections?.bind(server)
    if (closeIdle !== undefined) {
      // Both Fastify's close and Node's server.close() call it; later, once, instead.
      server.closeIdleConnections = () => {}
      setTimeout(closeIdle, DRAIN_IDLE_GRACE_MS)
    }
    done()
  })
  fastify.addHook('onClose', async () => opts.channel.close())
}

export default fp(workers, { fastify: '5.x', name: 'gatehouse-workers' })
