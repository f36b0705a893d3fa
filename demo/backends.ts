/**
 * Small demo backends for trying Gatehouse by hand: each one is a plain node:http server on
 * 127.0.0.1 that answers every request with JSON describing what it received
 * (`{ backend, port, path, headers }`) and an `x-backend` header naming itself, and answers
 * `GET /health` with 200 so that active health checks pass.
 *
 *   npx tsx demo/backends.ts                 # the servers of examples/gatehouse.json
 *   npx tsx demo/backends.ts 9001 9002       # just these ports
 *
 * Or from code: `const backends = await startDemoBackends([{ name: 'api-1', port: 9001 }])`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

export interface DemoBackendSpec {
  /** What the backend calls itself in `x-backend` and in its JSON. */
  name: string
  port: number
}

export interface DemoBackend extends DemoBackendSpec {
  url: string
  server: Server
  /** Requests answered so far (health checks included). */
  requests: number
}

export interface DemoBackends {
  backends: DemoBackend[]
  /** Stops every backend and drops its open connections. */
  close (): Promise<void>
}

/** Raised when a port is taken; `port` says which one. */
export class PortBusyError extends Error {
  constructor (readonly port: number, readonly host = '127.0.0.1') {
    super(`port ${port} on ${host} is already in use (is another demo, or something else, running?)`)
    this.name = 'PortBusyError'
  }
}

export const DEFAULT_CONFIG_FILE = join(__dirname, '..', 'examples', 'gatehouse.json')

/**
 * The demo backends a config needs: one per server whose URL is on 127.0.0.1 (or localhost),
 * named by the server's `id` when it has one, else `<upstream>-<n>`.
 */
export function backendsFromConfig (file = DEFAULT_CONFIG_FILE): DemoBackendSpec[] {
  const config = JSON.parse(readFileSync(file, 'utf8')) as {
    upstreams: Record<string, { servers: Array<{ url: string, id?: string }> }>
  }
  const specs: DemoBackendSpec[] = []
  const seen = new Set<number>()
  for (const [upstream, { servers }] of Object.entries(config.upstreams)) {
    servers.forEach((s, i) => {
      const url = new URL(s.url)
      if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(url.hostname)) return
      const port = Number(url.port || 80)
      if (seen.has(port)) return
      seen.add(port)
      specs.push({ name: s.id ?? `${upstream}-${i + 1}`, port })
    })
  }
  return specs
}

function handler (backend: DemoBackend) {
  return (req: IncomingMessage, res: ServerResponse) => {
    backend.requests++
    // Read (and drop) any request body before answering, so keep-alive connections stay usable.
    req.resume()
    req.once('end', () => {
      const path = req.url ?? '/'
      if (path === '/health' || path.startsWith('/health?')) {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': backend.name })
        res.end('ok\n')
        return
      }
      const body = JSON.stringify({
        backend: backend.name,
        port: backend.port,
        method: req.method,
        path,
        headers: req.headers
      }, null, 2) + '\n'
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'x-backend': backend.name
      })
      res.end(body)
    })
  }
}

async function listen (spec: DemoBackendSpec): Promise<DemoBackend> {
  const server = createServer()
  const backend: DemoBackend = { ...spec, url: `http://127.0.0.1:${spec.port}`, server, requests: 0 }
  server.on('request', handler(backend))
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.removeListener('listening', onListening)
      reject(err.code === 'EADDRINUSE' ? new PortBusyError(spec.port) : err)
    }
    const onListening = () => {
      server.removeListener('error', onError)
      // Port 0 (DEMO_FREE_PORTS=1) takes a free port: name the one actually bound.
      backend.port = (server.address() as AddressInfo).port
      backend.url = `http://127.0.0.1:${backend.port}`
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(spec.port, '127.0.0.1')
  })
  return backend
}

async function closeServer (server: Server): Promise<void> {
  if (!server.listening) return
  const closed = once(server, 'close')
  server.close()
  server.closeAllConnections()
  await closed
}

/**
 * Starts one backend per spec. All or nothing: when one cannot listen (a busy port throws a
 * PortBusyError), the ones already started are closed again before the error is thrown.
 */
export async function startDemoBackends (specs: DemoBackendSpec[]): Promise<DemoBackends> {
  const results = await Promise.allSettled(specs.map(listen))
  const backends = results.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
  const close = async () => { await Promise.all(backends.map(b => closeServer(b.server))) }
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failure !== undefined) {
    await close()
    throw failure.reason
  }
  return { backends, close }
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  let specs: DemoBackendSpec[]
  if (args.length > 0) {
    specs = args.map(a => {
      const port = Number(a)
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        console.error(`not a port: ${a}\nusage: tsx demo/backends.ts [port ...]`)
        process.exit(2)
      }
      return { name: `backend-${port}`, port }
    })
  } else {
    specs = backendsFromConfig()
  }

  let demo: DemoBackends
  try {
    demo = await startDemoBackends(specs)
  } catch (err) {
    console.error(`demo backends: ${(err as Error).message}`)
    process.exit(1)
  }
  for (const b of demo.backends) console.log(`demo backend ${b.name.padEnd(8)} listening on ${b.url}`)
  console.log(`pid ${process.pid}; Ctrl-C (or kill ${process.pid}) stops them.`)

  let closing = false
  const stop = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1)
    closing = true
    console.log(`${signal}: closing the demo backends`)
    demo.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

if (require.main === module) void main()
