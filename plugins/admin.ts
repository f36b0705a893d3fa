import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { createMetrics } from '../lib/metrics'
import { refusalsOf } from './strict-http'
import health from '../routes/admin/health'
import upstreams from '../routes/admin/upstreams'
import metrics from '../routes/admin/metrics'
import cacheRoutes from '../routes/admin/cache'
import { addCacheMetrics } from '../lib/cache/cache-metrics'

export interface AdminOptions {
  port: number
  host: string
}

// The admin API only reads; anything else is refused before routing, on every path, except
// the cache purge (issue 11).
const METHODS = ['GET', 'HEAD']
const WRITES = new Set(['DELETE /cache'])

/**
 * The admin API on a listener of its own, as Envoy's admin and HAProxy's stats sockets are:
 * nothing on it is reachable through the proxy port, and it binds to 127.0.0.1 by default.
 * It is a second Fastify instance, so that its routes (routes/admin/*.ts), schemas, hooks
 * and errors follow the gateway's conventions; its logger is a child of the gateway's.
 *   GET /health     200 while serving, 503 once draining
 *   GET /upstreams  every group and server: state, in-flight, attempts, failures
 *   GET /metrics    Prometheus text format
 *   DELETE /cache   purge the response cache by url or prefix (when a route caches)
 */
export default async function admin (fastify: FastifyInstance, opts: AdminOptions) {
  const registry = createMetrics(() => fastify.gatehouse.registry.all(), () => refusalsOf(fastify.server)?.counts ?? new Map())
  let draining = false

  const app = Fastify({
    // Warnings and errors only: the one line worth having at start (with its url) is the gateway's own, below.
    loggerInstance: fastify.log.child({ component: 'admin' }, { level: 'warn' }),
    // A scrape every few seconds would otherwise log two lines each; the old admin logged none.
    logController: new LogController({ disableRequestLogging: true }),
    // Node's default, as the hand-written admin server had: Fastify's 72 s suits a proxy port, not a scraper.
    keepAliveTimeout: 5000,
    // Closing drops keep-alive connections too (a scraper's, a balancer's health checker's),
    // so that the gateway's close never waits on an idle admin client.
    forceCloseConnections: true
  })

  const paths: string[] = []
  app.addHook('onRoute', route => {
    if (route.method === 'GET' || (Array.isArray(route.method) && route.method.includes('GET'))) paths.push(route.url)
  })

  app.addHook('onRequest', async (request, reply) => {
    if (!METHODS.includes(request.method) && !WRITES.has(`${request.method} ${request.url.split('?')[0]}`)) await reply.code(405).header('allow', METHODS.join(', ')).send({ error: 'Method Not Allowed' })
  })

  app.setNotFoundHandler(async (request, reply) => {
    await reply.code(404).send({ error: 'Not Found', paths })
  })

  app.setErrorHandler(async (err, request, reply) => {
    request.log.error({ err }, 'admin request failed')
    await reply.code(500).send({ error: 'Internal Server Error' })
  })

  await app.register(health, { draining: () => draining })
  await app.register(upstreams, { gatehouse: fastify.gatehouse })
  await app.register(metrics, { registry })
  const cache = fastify.gatehouse.cache
  if (cache !== undefined) {
    addCacheMetrics(registry, cache)
    await app.register(cacheRoutes, { cache })
  }

  fastify.addHook('onReady', async () => {
    await app.listen({ port: opts.port, host: opts.host })
    const { address, port } = app.server.address() as AddressInfo
    fastify.gatehouse.adminUrl = `http://${address.includes(':') ? `[${address}]` : address}:${port}`
    fastify.log.info({ url: fastify.gatehouse.adminUrl }, 'admin API listening')
  })

  // preClose runs before the proxy port stops accepting: the balancer in front sees 503 first.
  fastify.addHook('preClose', async () => {
    draining = true
  })

  fastify.addHook('onClose', async () => {
    await app.close()
    registry.clear()
  })
}
