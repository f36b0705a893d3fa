import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { WorkerChannel } from '../../lib/cluster/worker-channel'
import { PURGE_TOPIC, EJECT_RETAIN, EJECT_TOPIC, RUNTIME_RETAIN, RUNTIME_TOPIC, SPLIT_RETAIN, SPLIT_TOPIC, type EjectionMessage } from '../../lib/cluster/messages'
import { shareSplitChanges } from '../../lib/routing/share-splits'
import { applyFleetChange } from '../../lib/admin/fleet-sync'
import type { RuntimeChange } from '../../lib/upstreams/runtime-servers'
import type { Registry } from 'prom-client'
import type { Upstream } from '../../lib/upstreams/upstream'
import type { Backend } from '../../lib/upstreams/backend'
import { refusalsOf } from '../../lib/http/screen-request'

/** How a change from another worker is marked: `by` is `fleet:worker<slot>`. */
const BUS_INSTANCE = 'worker'

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
  fastify.addHook('onReady', async () => {
    shareRuntimeChanges(fastify, opts.channel)
    shareEjections(fastify, opts.channel)
    shareSplitChanges(fastify.gatehouse.splits, opts.channel, { topic: SPLIT_TOPIC, retain: SPLIT_RETAIN, marker: BUS_INSTANCE })
    // Each worker caches on its own: a purge through the admin API (worker 1) purges them all.
    opts.channel.on(PURGE_TOPIC, data => {
      const { target, prefix } = data as { target: string, prefix: boolean }
      fastify.gatehouse.cache?.purge(target, prefix)
    })
  })
  // The admin worker's GET /metrics sums every worker's: this one's, built when first asked.
  let metrics: Promise<Registry> | undefined
  opts.channel.collector = async () => {
    metrics ??= import('../../lib/admin/metrics').then(({ createMetrics }) =>
      createMetrics(() => fastify.gatehouse.registry.all(), () => refusalsOf(fastify.server)?.counts ?? new Map(), () => fastify.gatehouse.runtime.counts, () => fastify.gatehouse.routeFigures?.all() ?? []))
    return await (await metrics).getMetricsAsJSON()
  }
  fastify.addHook('onClose', async () => opts.channel.close())
}

export default fp(workers, { fastify: '5.x', name: 'gatehouse-workers' })

/**
 * Runtime changes through the admin API (made in the admin worker) and those fleet sync brings
 * from Redis are applied by every worker: broadcast on the bus, and retained by the primary so
 * that a worker started later (a replacement) applies them too, until a reload drops them.
 * Applied as fleet changes are (validated, logged, counted), marked so that no worker
 * broadcasts them again and fleet sync does not publish them again.
 */
function shareRuntimeChanges (fastify: FastifyInstance, channel: WorkerChannel): void {
  const runtime = fastify.gatehouse.runtime
  let sent = 0
  runtime.on('change', change => {
    if (change.by.startsWith(`fleet:${BUS_INSTANCE}`)) return
    channel.broadcast(RUNTIME_TOPIC, change, `${RUNTIME_RETAIN}${channel.slot}:${process.pid}:${++sent}`)
  })
  channel.on(RUNTIME_TOPIC, (change, from) => {
    applyFleetChange(runtime, { instance: `${BUS_INSTANCE}${from}`, change: change as RuntimeChange })
  })
}

/**
 * A server that passive checks eject in one worker is ejected in all, until the same time:
 * the others would otherwise each send it their own maxFails of failures first. Through the
 * bus (one IPC hop through the primary, well under 100 ms), retained for workers started later.
 */
function shareEjections (fastify: FastifyInstance, channel: WorkerChannel): void {
  const registry = fastify.gatehouse.registry
  registry.on('ejected', (upstream: Upstream, backend: Backend) => {
    const msg: EjectionMessage = { upstream: upstream.name, server: backend.id, until: backend.ejectedUntil }
    channel.broadcast(EJECT_TOPIC, msg, `${EJECT_RETAIN}${upstream.name}/${backend.id}`)
  })
  channel.on(EJECT_TOPIC, (data, from) => {
    const msg = data as EjectionMessage
    const upstream = registry.get(msg.upstream)
    const backend = upstream?.backends.all().find(b => b.id === msg.server)
    if (upstream === undefined || backend === undefined) return
    if (upstream.backends.ejectUntil(backend, msg.until, Date.now())) {
      fastify.log.warn({ upstream: msg.upstream, server: msg.server, byWorker: from, ms: msg.until - Date.now() }, 'server ejected by another worker')
    }
  })
}
