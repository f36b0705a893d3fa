import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify'
import type { AddressInfo } from 'node:net'
import { STATUS_CODES } from 'node:http'
import type { AdminOptions } from '../../lib/config'
import { bearerOf, cookieOf, hostAllowed, sameSecret, SESSION_COOKIE } from '../../lib/admin/guard'
import { AdminSessions } from '../../lib/admin/sessions'
import { checkAttempts, FailedLogins } from '../../lib/admin/failed-logins'
import { AdminMisdirectedError, AdminReadOnlyError, AdminTooManyAttemptsError, AdminUnauthorizedError } from '../../lib/errors'
import servers from '../../routes/admin/servers'
import config from '../../routes/admin/config'
import routesRoute from '../../routes/admin/routes'
import dashboard from '../../routes/admin/dashboard'
import { createMetrics } from '../../lib/admin/metrics'
import { refusalsOf } from '../../lib/http/screen-request'
import health from '../../routes/admin/health'
import upstreams from '../../routes/admin/upstreams'
import metrics from '../../routes/admin/metrics'
import cacheRoutes from '../../routes/admin/cache'
import { addCacheMetrics } from '../../lib/cache/cache-metrics'
import workersRoute from '../../routes/admin/workers'
import { PURGE_TOPIC } from '../../lib/cluster/messages'

export type { AdminOptions }

// Any other method is refused before routing, on every path.
const METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE']
const READS = new Set(['GET', 'HEAD'])
// Answered to anyone: a balancer in front checks it by the instance's address, and it tells nothing.
const OPEN = new Set(['/health'])
// The dashboard page and its login form, so that a browser without the cookie can get one;
// logout, which only ends the session its cookie names, whether or not that is still open.
const LOGIN = new Set(['/', '/login', '/logout'])

/**
 * The admin API on a listener of its own, as Envoy's admin and HAProxy's stats sockets are:
 * nothing on it is reachable through the proxy port, and it binds to 127.0.0.1 by default.
 * It is a second Fastify instance, so that its routes (routes/admin/*.ts), schemas, hooks
 * and errors follow the gateway's conventions; its logger is a child of the gateway's.
 *   GET /health     200 while serving, 503 once draining
 *   GET /upstreams  every group and server: state, in-flight, attempts, failures
 *   GET /metrics    Prometheus text format
 *   DELETE /cache   purge the response cache by url or prefix (when a route caches)
 *   POST, PATCH, DELETE /upstreams/NAME/servers[/ID]   runtime changes (routes/admin/servers.ts)
 *   GET /config     the effective config, secrets redacted
 *   GET /routes, PATCH /routes/N/split   the routes, and a split's weights (routes/admin/routes.ts)
 *   GET /workers    under `gatehouse --workers N`: every worker (routes/admin/workers.ts)
 *   GET /, /events  the dashboard and its server-sent events
 * Guarded in order: Host check (DNS rebinding), then the token (failed attempts limited per
 * address, lib/admin/failed-logins.ts) or a dashboard session (lib/admin/sessions.ts), then read-only.
 */
export default async function admin (fastify: FastifyInstance, opts: AdminOptions) {
  const registry = createMetrics(() => fastify.gatehouse.registry.all(), () => refusalsOf(fastify.server)?.counts ?? new Map(), () => fastify.gatehouse.runtime.counts, () => fastify.gatehouse.routeFigures?.all() ?? [])
  let draining = false
  const sessions = new AdminSessions(opts.sessionTtl)
  const failures = new FailedLogins()

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
    const path = pathOf(request)
    if (READS.has(request.method) && OPEN.has(path)) return
    if (!hostAllowed(request.headers.host, opts.hosts)) throw new AdminMisdirectedError()
    if (!METHODS.includes(request.method)) return await reply.code(405).header('allow', METHODS.join(', ')).send({ error: 'Method Not Allowed' })
    if (opts.token === undefined) {
      if (!READS.has(request.method)) throw new AdminReadOnlyError()
      return
    }
    if (LOGIN.has(path)) return
    const bearer = bearerOf(request.headers.authorization)
    if (bearer !== undefined) {
      // A guess at the token: counted when wrong, refused without a look past the limit.
      checkAttempts(failures, request.ip, reply)
      if (sameSecret(bearer, opts.token)) return
      failures.failed(request.ip)
      throw new AdminUnauthorizedError()
    }
    // A session id is 256 random bits, beyond guessing: a stale cookie is not counted.
    const session = cookieOf(request.headers.cookie, SESSION_COOKIE)
    if (session === undefined || !sessions.valid(session, opts.token)) throw new AdminUnauthorizedError()
  })

  app.setNotFoundHandler(async (request, reply) => {
    await reply.code(404).send({ error: 'Not Found', paths })
  })

  app.setErrorHandler(async (err: Error & { statusCode?: number, code?: string }, request, reply) => {
    const status = err.statusCode ?? 500
    if (status >= 500) {
      request.log.error({ err }, 'admin request failed')
      return await reply.code(500).send({ error: 'Internal Server Error' })
    }
    // Ours (lib/errors.ts) and Fastify's own (a body that is not JSON): the message names the problem.
    await reply.code(status).send({ statusCode: status, code: err.code, error: STATUS_CODES[status], message: err.message })
  })

  await app.register(health, { draining: () => draining })
  await app.register(upstreams, { gatehouse: fastify.gatehouse })
  const worker = fastify.gatehouseWorker
  await app.register(metrics, { registry, ...(worker !== undefined && { others: () => worker.othersCollected() }) })
  const cache = fastify.gatehouse.cache
  if (cache !== undefined) {
    addCacheMetrics(registry, cache)
    await app.register(cacheRoutes, { cache, ...(worker !== undefined && { onPurge: (target: string, prefix: boolean) => worker.broadcast(PURGE_TOPIC, { target, prefix }) }) })
  }
  await app.register(servers, { gatehouse: fastify.gatehouse })
  await app.register(config, { gatehouse: fastify.gatehouse })
  await app.register(routesRoute, { gatehouse: fastify.gatehouse })
  if (fastify.gatehouseWorker !== undefined) await app.register(workersRoute, { channel: fastify.gatehouseWorker })
  await app.register(dashboard, { gatehouse: fastify.gatehouse, token: opts.token, sessions, failures })

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

function pathOf (request: FastifyRequest): string {
  const q = request.url.indexOf('?')
  return q === -1 ? request.url : request.url.slice(0, q)
}
