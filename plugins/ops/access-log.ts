import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, onResponseHookHandler } from 'fastify'
import type { GatewayRoute } from '../../lib/config'
import type { HookFactory } from '../policies/pipeline'
import { compileAccessLog, type CompiledAccessLog } from '../../lib/access-log/compile'
import type { LogEntry } from '../../lib/access-log/entry'
import { lineWriter, type LineWriter } from '../../lib/access-log/destination'
import { bodyBytesOf, countBodyBytes } from '../../lib/access-log/body-bytes'
import { RouteFigureTable } from '../../lib/admin/route-figures'
import { grpcStatusLabel } from '../../lib/admin/grpc-label'

declare module '../../lib/upstreams/gatehouse' {
  interface Gatehouse {
    /** Each gateway route's counts by the group it sent to: the route-labelled metrics read them (lib/admin/route-metrics.ts). */
    routeFigures?: RouteFigureTable
  }
}

/**
 * One access line per request to a gateway route, and its count by status class on the
 * group. The hook hangs on each gateway route with its config in the closure: reading
 * request.routeOptions per request would build a fresh object each time. Routes declared
 * outside the gateway's config pay nothing.
 *
 * The line is the JSON one through the Fastify logger (pino) by default; the combined and
 * template formats are text that pino would wrap in JSON, so they go to `accessLog.destination`
 * through a writer of their own, whatever the logger's level. The format is compiled once, here.
 */
async function accessLog (fastify: FastifyInstance) {
  const options = fastify.gatehouse.config.accessLog
  const log = compileAccessLog(options)
  const table = fastify.gatehouse.routeFigures = new RouteFigureTable()
  let writer: LineWriter | undefined
  if (log.line !== undefined) {
    const out = writer = lineWriter(options.destination, err => fastify.log.error({ err, destination: options.destination }, 'the access log cannot be written'))
    // What is buffered is written before the gateway is gone.
    fastify.addHook('onClose', async () => await out.close())
    // SIGUSR1 reopens the file, as nginx does for log rotation (the file was moved aside;
    // lines go to a new one of the same name). Only where Gatehouse owns the signals.
    if (options.destination !== 'stdout' && fastify.gatehouse.config.handleSignals) {
      const reopen = (): void => out.reopen()
      fastify.addHook('onReady', async () => { process.on('SIGUSR1', reopen) })
      fastify.addHook('onClose', async () => { process.removeListener('SIGUSR1', reopen) })
    }
  }
  fastify.gatehousePipeline.provide({
    'access-log': accessLine(log, writer, table),
    'access-log-bytes': () => log.countsBytes ? countBytes : undefined
  })
}

const countBytes: onRequestHookHandler = (request, reply, done) => {
  countBodyBytes(reply.raw)
  done()
}

const accessLine = (log: CompiledAccessLog, writer: LineWriter | undefined, table: RouteFigureTable): HookFactory<'onResponse'> => (route, { fastify }) => {
  const routeLabel = route.name ?? String(route.index)
  // Declared once per route, so the routes of the config bound the series (a reload keeps the routes).
  const figures = table.add(routeLabel, route.upstream)
  const keep = log.keep
  const gatehouseAccessLog: onResponseHookHandler = (request, reply, done) => {
    // A request a policy refused (429) never reached the handler; it is logged and counted all the same.
    const upstream = request.upstream ?? (route.upstream === undefined ? undefined : fastify.gatehouse.registry.get(route.upstream))
    if (upstream !== undefined) {
      const statusClass = Math.floor(reply.statusCode / 100)
      upstream.responses[statusClass]++
      upstream.latency.observe(reply.elapsedTime)
      const counts = figures.of(upstream.name)
      counts.responses[statusClass]++
      counts.latency.observe(reply.elapsedTime)
      if (request.grpcStatus !== null) {
        const label = grpcStatusLabel(request.grpcStatus)
        counts.grpc.set(label, (counts.grpc.get(label) ?? 0) + 1)
      }
    }
    if (keep !== undefined && !keep(reply.statusCode)) {
      done()
      return
    }
    if (log.defaultJson) {
      // The instance logger: the route's own logger is held at "warn" (see routes/proxy.ts).
      // Its fields are gathered only when the line is written (not at the usual "warn" of a busy gateway).
      if (infoEnabled(fastify.log as { isLevelEnabled?: (level: string) => boolean })) {
        const grpcStatus = request.grpcStatus
        // The group that took the request: on a split route, the one chosen for it.
        // Two literals rather than one with an undefined field: the line of a plain request
        // costs what it did before gRPC calls had a status of their own.
        fastify.log.info(grpcStatus === null
          ? {
              reqId: request.id,
              // The client, as nginx's $remote_addr leads its access line: the PROXY protocol's where a balancer sent one.
              remoteAddress: request.ip,
              upstream: upstream?.name ?? route.upstream,
              server: request.backend?.id,
              status: reply.statusCode,
              responseTime: reply.elapsedTime,
              requestId: request.requestId,
              reason: request.refusal ?? undefined
            }
          : {
              reqId: request.id,
              remoteAddress: request.ip,
              upstream: upstream?.name ?? route.upstream,
              server: request.backend?.id,
              status: reply.statusCode,
              responseTime: reply.elapsedTime,
              requestId: request.requestId,
              reason: request.refusal ?? undefined,
              grpcStatus
            }, outcome(request, reply, route))
      }
    } else if (log.json !== undefined) {
      if (infoEnabled(fastify.log as { isLevelEnabled?: (level: string) => boolean })) {
        fastify.log.info(log.json(entryOf(request, reply, route, routeLabel, upstream?.name)), outcome(request, reply, route))
      }
    } else if (log.line !== undefined && writer !== undefined) {
      writer.write(log.line(entryOf(request, reply, route, routeLabel, upstream?.name)))
    }
    done()
  }
  return gatehouseAccessLog
}

/** What the chosen fields may read, gathered once for the line. */
function entryOf (request: FastifyRequest, reply: FastifyReply, route: GatewayRoute, routeLabel: string, upstream: string | undefined): LogEntry {
  const raw = reply.raw
  const status = reply.statusCode
  return {
    method: request.method,
    url: request.url,
    httpVersion: request.raw.httpVersion,
    headers: request.headers,
    ip: request.ip,
    reqId: request.id,
    requestId: request.requestId,
    status,
    responseTime: reply.elapsedTime,
    time: Date.now(),
    upstream: upstream ?? route.upstream,
    server: request.backend?.id,
    serverOrigin: request.backend?.origin,
    route: routeLabel,
    outcome: outcome(request, reply, route),
    reason: request.refusal ?? undefined,
    grpcStatus: request.grpcStatus ?? undefined,
    // No body goes with these, whatever was written (nginx logs 0 for them too).
    bytesSent: request.method === 'HEAD' || status === 204 || status === 304 ? 0 : bodyBytesOf(raw),
    // The reply's headers first: an answer written straight to the client (plugins/proxy/direct-send.ts)
    // passes them to writeHead, which leaves the raw response's own header list empty.
    sentHeader: name => reply.getHeader(name) ?? raw.getHeader(name)
  }
}

/** pino's check; a custom logger without one (Fastify does not ask for it) gets every line. */
function infoEnabled (log: { isLevelEnabled?: (level: string) => boolean }): boolean {
  return typeof log.isLevelEnabled !== 'function' || log.isLevelEnabled('info')
}

/** A filter's refusal (its reason on the line), a redirect route's answer, or a proxied request. */
function outcome (request: FastifyRequest, reply: FastifyReply, route: GatewayRoute): 'refused' | 'redirected' | 'proxied' {
  if (request.refusal !== null) return 'refused'
  if (route.redirect !== undefined) return reply.statusCode === route.redirect.status ? 'redirected' : 'refused'
  return request.upstream === null ? 'refused' : 'proxied'
}

export default fp(accessLog, { fastify: '5.x', name: 'gatehouse-access-log', dependencies: ['gatehouse-pipeline', 'gatehouse-request-id'] })
