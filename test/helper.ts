import Fastify, { type FastifyInstance } from 'fastify'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { request as undiciRequest, Agent } from 'undici'
import gatehouse from '../app'
import type { GatehouseConfig } from '../lib/config'

type Test = {
  teardown (fn: () => unknown): void
}

export interface TestBackend {
  name: string
  url: string
  port: number
  server: Server
  /** Requests this backend received, in order. */
  hits: Array<{ method: string, url: string, headers: IncomingMessage['headers'] }>
  /** Replace the handler (default: 200 JSON naming the backend). */
  handle (fn: (req: IncomingMessage, res: ServerResponse, backend: TestBackend) => void): void
  /** Stops accepting and drops open connections (a crash, as far as clients can tell). */
  kill (): Promise<void>
  /**
   * Listens again on the same port after kill(): the one place a test reuses a port, since
   * the gateway's config names it (see restart's comment below).
   */
  restart (): Promise<void>
}

/** A real HTTP server on 127.0.0.1 and an ephemeral port that counts what reaches it. */
export async function startBackend (t: Test, name: string, port = 0): Promise<TestBackend> {
  let handler: (req: IncomingMessage, res: ServerResponse, backend: TestBackend) => void = defaultHandler
  const server = createServer((req, res) => {
    backend.hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    handler(req, res, backend)
  })
  server.keepAliveTimeout = 30_000
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  const actual = (server.address() as AddressInfo).port
  const backend: TestBackend = {
    name,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    server,
    hits: [],
    handle (fn) { handler = fn },
    async kill () {
      if (!backend.server.listening) return
      const closed = once(backend.server, 'close')
      backend.server.close()
      backend.server.closeAllConnections()
      await closed
    },
    async restart () {
      await relisten(backend.server, actual)
    }
  }
  t.teardown(() => backend.kill())
  return backend
}

/**
 * A backend that comes back must come back at its own address: that is what the gateway's
 * config, health checks and sticky cookies name. The port was this backend's own from
 * listen(0), never one probed and released, and it is free only while the test holds it
 * down. Linux hands listen(0) and connect() ports from the same range, so another test file
 * could in principle take it in that window: retry a bounded while (a socket closing there
 * frees it), then fail saying so rather than as a puzzling assertion later.
 */
async function relisten (server: Server, port: number, timeout = 3000): Promise<void> {
  const deadline = Date.now() + timeout
  for (;;) {
    try {
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) {
        throw new Error(`cannot listen on 127.0.0.1:${port} again: ${(err as Error).message}`)
      }
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

function defaultHandler (req: IncomingMessage, res: ServerResponse, backend: TestBackend): void {
  req.resume()
  req.once('end', () => {
    res.setHeader('content-type', 'application/json')
    res.setHeader('x-backend', backend.name)
    res.end(JSON.stringify({ backend: backend.name, url: req.url }))
  })
}

/** A backend handler that reads the whole body and answers with its size in bytes. */
export function answerBodySize (req: IncomingMessage, res: ServerResponse): void {
  let size = 0
  req.on('data', (c: Buffer) => { size += c.length })
  req.on('end', () => res.end(String(size)))
}

export interface TestGateway {
  app: FastifyInstance
  url: string
  port: number
}

/** The real gateway on 127.0.0.1 and an ephemeral port, closed in teardown. */
export async function startGateway (t: Test, config: GatehouseConfig, setup?: (app: FastifyInstance) => Promise<void> | void): Promise<TestGateway> {
  return await listenGateway(t, Fastify({ logger: false }), config, setup)
}

/** A log line as pino writes it: `time` is when it was logged (ms since the epoch). */
export type LogLine = Record<string, any> & { level: number, time: number, msg: string }

export interface LoggedGateway extends TestGateway {
  /** Every line the gateway logged so far, in order. */
  logs: LogLine[]
  /** How many lines so far have a message matching `pattern`. */
  count (pattern: RegExp): number
}

/** startGateway with the gateway's log (at `level`, info by default) captured. */
export async function startLoggedGateway (t: Test, config: GatehouseConfig, level = 'info'): Promise<LoggedGateway> {
  const logs: LogLine[] = []
  const stream = {
    write (chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') logs.push(JSON.parse(line))
    }
  }
  const gw = await listenGateway(t, Fastify({ logger: { level, stream } }), config)
  return { ...gw, logs, count: pattern => logs.filter(l => pattern.test(l.msg)).length }
}

async function listenGateway (t: Test, app: FastifyInstance, config: GatehouseConfig, setup?: (app: FastifyInstance) => Promise<void> | void): Promise<TestGateway> {
  if (setup !== undefined) await setup(app)
  await app.register(gatehouse, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  t.teardown(() => app.close())
  return { app, port, url: `http://127.0.0.1:${port}` }
}

// One client agent for all tests, without keep-alive surprises between tests.
const agent = new Agent({ keepAliveTimeout: 10, connections: 64 })

export interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  json (): any
}

/** Sends one request and reads the whole answer. */
export async function call (url: string, opts: { method?: string, headers?: Record<string, string>, body?: string | Buffer | NodeJS.ReadableStream } = {}): Promise<Reply> {
  const res = await undiciRequest(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    body: opts.body as never,
    dispatcher: agent
  })
  const body = await res.body.text()
  return {
    status: res.statusCode,
    headers: res.headers,
    body,
    json: () => JSON.parse(body)
  }
}

/** Which backend answered each of `n` sequential GETs. */
export async function spread (url: string, n: number, headers?: Record<string, string>): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const res = await call(url, { headers })
    out.push(String(res.headers['x-backend']))
  }
  return out
}

export function count (names: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const n of names) out[n] = (out[n] ?? 0) + 1
  return out
}
