import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { createMetrics } from '../lib/metrics'
import { snapshot } from '../lib/upstream-snapshot'

export interface AdminOptions {
  port: number
  host: string
}

/**
 * The admin API on a listener of its own, as Envoy's admin and HAProxy's stats sockets are:
 * nothing on it is reachable through the proxy port, and it binds to 127.0.0.1 by default.
 *   GET /health     200 while serving, 503 once draining: the check for a TCP balancer in
 *                   front of several instances, so it stops sending before the exit
 *   GET /upstreams  every group and server: state, in-flight, attempts, failures
 *   GET /metrics    Prometheus text format
 */
export default async function admin (fastify: FastifyInstance, opts: AdminOptions) {
  const registry = createMetrics(() => fastify.gatehouse.registry.all())
  let draining = false

  const server = createServer((req, res) => {
    handle(req, res).catch(err => {
      fastify.log.error({ err }, 'admin request failed')
      send(res, 500, { error: 'Internal Server Error' })
    })
  })

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error: 'Method Not Allowed' }, { allow: 'GET, HEAD' })
      return
    }
    if (path === '/health') {
      send(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ok' })
    } else if (path === '/upstreams') {
      send(res, 200, { upstreams: snapshot(fastify.gatehouse.registry.all(), Date.now()) })
    } else if (path === '/metrics') {
      const body = await registry.metrics()
      res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(body) })
      res.end(req.method === 'HEAD' ? undefined : body)
    } else {
      send(res, 404, { error: 'Not Found', paths: ['/health', '/upstreams', '/metrics'] })
    }
  }

  fastify.addHook('onReady', async () => {
    server.listen(opts.port, opts.host)
    await once(server, 'listening')
    const { address, port } = server.address() as AddressInfo
    fastify.gatehouse.adminUrl = `http://${address.includes(':') ? `[${address}]` : address}:${port}`
    fastify.log.info({ url: fastify.gatehouse.adminUrl }, 'admin API listening')
  })

  // preClose runs before the proxy port stops accepting: the balancer in front sees 503 first.
  fastify.addHook('preClose', async () => {
    draining = true
  })

  fastify.addHook('onClose', async () => {
    registry.clear()
    if (!server.listening) return
    const closed = once(server, 'close')
    server.close()
    server.closeAllConnections()
    await closed
  })
}

function send (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}
