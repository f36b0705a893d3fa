import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { call, type TestGateway } from '../helper'
import type { GatehouseConfig } from '../../lib/config'

type Test = { teardown (fn: () => unknown): void }

export interface Copy {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: Buffer
}

export interface Shadow {
  url: string
  /** Every request received whole, in order of arrival. */
  copies: Copy[]
  /** Requests received and not answered yet (holding). */
  held: ServerResponse[]
  /** The most requests it held at once. */
  peak: number
  /** Holds every request from now on, unanswered, until release(). */
  hold (): void
  /** Answers what it holds, and answers at once again. */
  release (): void
}

/** A mirror backend that records each copy with its body; it answers 200, or holds every request when told to. */
export async function startShadow (t: Test): Promise<Shadow> {
  let holding = false
  const shadow: Shadow = {
    url: '',
    copies: [],
    held: [],
    peak: 0,
    hold () { holding = true },
    release () {
      holding = false
      for (const res of shadow.held.splice(0)) res.end('late')
    }
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      shadow.copies.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) })
      if (holding) {
        shadow.held.push(res)
        shadow.peak = Math.max(shadow.peak, shadow.held.length)
        res.once('close', () => {
          const i = shadow.held.indexOf(res)
          if (i !== -1) shadow.held.splice(i, 1)
        })
      } else res.end('from the shadow')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  shadow.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(async () => {
    shadow.release()
    server.closeAllConnections()
    server.close()
  })
  return shadow
}

/** An address that refuses connections: a port listened on, then closed. */
export async function refusingUrl (): Promise<string> {
  const server = createNetServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  server.close()
  await once(server, 'close')
  return `http://127.0.0.1:${port}`
}

/** A server that accepts connections and resets each one as soon as a request's bytes arrive; counts the connections. */
export async function startResetter (t: Test): Promise<{ url: string, connections: () => number }> {
  let n = 0
  const server = createNetServer(socket => {
    n++
    socket.on('error', () => {})
    socket.once('data', () => socket.resetAndDestroy())
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => n }
}

/** The value of one sample in the gateway's /metrics, 0 when absent. */
export async function metric (gw: TestGateway, sample: string): Promise<number> {
  const res = await call(`${gw.app.gatehouse.adminUrl as string}/metrics`)
  for (const line of res.body.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1))
  }
  return 0
}

/** The mirror counts of group `upstream` from /metrics. */
export async function mirrorMetrics (gw: TestGateway, upstream: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const outcome of ['sent', 'answered', 'failed', 'dropped', 'skipped']) {
    out[outcome] = await metric(gw, `gatehouse_mirror_requests_total{upstream="${upstream}",outcome="${outcome}"}`)
  }
  return out
}

/** A config of one route (`/api/*`, stripPrefix `/api`) to `api` at `main`, copying to `shadow` at `shadowUrl`; the admin API on for /metrics. */
export function mirrorConfig (main: string, shadowUrl: string, mirror: Record<string, unknown> = {}, more: Partial<GatehouseConfig> = {}): GatehouseConfig {
  return {
    admin: { port: 0 },
    upstreams: { api: { servers: [{ url: main }] }, shadow: { servers: [{ url: shadowUrl }] } },
    routes: [{ match: { path: '/api/*' }, upstream: 'api', stripPrefix: '/api', mirror: { upstream: 'shadow', ...mirror } }],
    ...more
  }
}

/** A backend handler that keeps each request's body and answers with its size. */
export function keepBodies (into: Buffer[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      into.push(body)
      res.end(String(body.length))
    })
  }
}
