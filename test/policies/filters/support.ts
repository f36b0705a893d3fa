import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { AddressInfo } from 'node:net'
import gatehouse from '../../../app'
import type { GatehouseConfig } from '../../../lib/config'
import type { LogLine } from '../../helper'

type Test = { teardown (fn: () => unknown): void }

export interface FilterGateway {
  app: FastifyInstance
  url: string
  port: number
  logs: LogLine[]
}

/**
 * The real gateway, with the Fastify options a filter test needs (trustProxy) and on the
 * address it asks for (`::1`, `::` for a dual-stack listener), its log captured.
 */
export async function startFilterGateway (t: Test, config: GatehouseConfig, opts: { trustProxy?: FastifyServerOptions['trustProxy'], host?: string, setup?: (app: FastifyInstance) => void } = {}): Promise<FilterGateway> {
  const logs: LogLine[] = []
  const stream = {
    write (chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') logs.push(JSON.parse(line))
    }
  }
  const app = Fastify({ logger: { level: 'info', stream }, trustProxy: opts.trustProxy })
  opts.setup?.(app)
  await app.register(gatehouse, config)
  const host = opts.host ?? '127.0.0.1'
  await app.listen({ port: 0, host })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port
  const shown = host.includes(':') ? `[${host === '::' ? '::1' : host}]` : host
  return { app, port, url: `http://${shown}:${port}`, logs }
}

/** The access-log lines (proxied, refused, redirected) logged so far. */
export function accessLines (logs: LogLine[]): LogLine[] {
  return logs.filter(l => l.msg === 'proxied' || l.msg === 'refused' || l.msg === 'redirected')
}
