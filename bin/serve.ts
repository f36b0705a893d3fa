// The gateway itself, in this process: Fastify with the gatehouse plugin, listening. What the
// command runs with one worker, and what each worker runs with several.
import { hostname } from 'node:os'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import gatehouse from '../app'
import { serverOptionsFromFile } from '../lib/http/server-options'
import type { WorkerChannel } from '../lib/cluster/worker-channel'
import { installedVersion } from '../lib/cluster/version'

export interface ServeOptions {
  configFile: string
  port: number
  host: string
  logLevel: string
  trustProxy: boolean | number | string | undefined
  /** Set in a worker of `--workers N`: its channel to the primary. */
  worker?: WorkerChannel
}

/** Serves until a signal ends the process; returns an exit code when it could not start. */
export async function serve (opts: ServeOptions): Promise<{ error: string } | undefined> {
  // The listener's TLS and HTTP/2 come from the config file: the server is made with them.
  let tls
  try {
    tls = serverOptionsFromFile(opts.configFile)
  } catch (err) {
    return { error: messageOf(err) }
  }
  // A worker's lines name its slot, beside pino's own pid and hostname.
  const base = opts.worker === undefined ? undefined : { base: { pid: process.pid, hostname: hostname(), worker: opts.worker.slot } }
  const app = Fastify({
    logger: { level: opts.logLevel, ...base },
    // A draining worker serves what reaches it on a kept-alive connection (with
    // `Connection: close`, plugins/ops/workers.ts) instead of Fastify's 503: its successor is
    // already serving, so the client loses nothing by being answered here.
    ...(opts.worker !== undefined && { return503OnClosing: false }),
    ...tls,
    ...(opts.trustProxy === undefined ? undefined : { trustProxy: opts.trustProxy })
  } as FastifyServerOptions) as unknown as FastifyInstance
  app.register(gatehouse.gatehouseFromFile, { configFile: opts.configFile, worker: opts.worker })
  try {
    // Fastify logs "Server listening at http://host:port" with the port actually bound.
    await app.listen({ port: opts.port, host: opts.host })
  } catch (err) {
    return { error: messageOf(err) }
  }
  opts.worker?.ready(installedVersion())
  return undefined
}

function messageOf (err: unknown): string {
  const e = err as Error & { code?: string }
  return e.code === 'GH_CONFIG_INVALID' ? e.message : String(e.stack ?? e)
}
