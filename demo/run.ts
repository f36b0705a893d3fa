/**
 * `npm run demo`: Gatehouse and its demo backends in one process, with a short tour.
 *
 * Starts the demo backends on the ports examples/gatehouse.json names (9001-9003, 9100),
 * starts Gatehouse with that config on 127.0.0.1:8080 (or $PORT), sends a few requests
 * itself and explains what came back; then keeps running until Ctrl-C.
 * With DEMO_EXIT=1 it exits (0) right after the tour, for smoke tests; with DEMO_FREE_PORTS=1
 * the backends take free ports (the config's URLs are pointed at them) and PORT may be 0, so a
 * test can run the README's quick start beside other demos.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import gatehouse, { type GatehouseConfig } from '../app'
import { backendsFromConfig, DEFAULT_CONFIG_FILE, PortBusyError, startDemoBackends, type DemoBackends } from './backends'

const HOST = '127.0.0.1'
const REQUESTS = 10

function fail (message: string): never {
  console.error(`\n  demo: ${message}\n`)
  process.exit(1)
}

function parsePort (value: string | undefined, lowest: number): number {
  if (value === undefined || value === '') return 8080
  const port = Number(value)
  if (!Number.isInteger(port) || port < lowest || port > 65535) fail(`PORT must be a port number (got "${value}")`)
  return port
}

async function main (): Promise<void> {
  const freePorts = process.env.DEMO_FREE_PORTS === '1'
  const port = parsePort(process.env.PORT, freePorts ? 0 : 1)
  const exitAfterTour = process.env.DEMO_EXIT === '1'
  const configFile = DEFAULT_CONFIG_FILE
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as GatehouseConfig

  // 1. The backends.
  let backends: DemoBackends
  try {
    const specs = backendsFromConfig(configFile)
    backends = await startDemoBackends(freePorts ? specs.map(s => ({ ...s, port: 0 })) : specs)
    if (freePorts) {
      const moved = new Map(specs.map((s, i) => [s.port, backends.backends[i].url]))
      for (const upstream of Object.values(config.upstreams)) {
        for (const server of upstream.servers) server.url = moved.get(Number(new URL(server.url).port)) ?? server.url
      }
    }
  } catch (err) {
    if (err instanceof PortBusyError) {
      fail(`cannot start the demo backends: ${err.message}\n  The demo needs ports 9001-9003 and 9100 on 127.0.0.1 free; stop what holds port ${err.port} (for example: lsof -i :${err.port}) and try again.`)
    }
    throw err
  }

  // 2. Gatehouse, as a plugin of an ordinary Fastify app.
  const app: FastifyInstance = Fastify({ logger: { level: 'info' } })
  let closing = false
  const closeAll = async () => {
    await app.close().catch(() => {})
    await backends.close().catch(() => {})
  }
  try {
    await app.register(gatehouse, config)
    await app.listen({ port, host: HOST })
  } catch (err) {
    await closeAll()
    const e = err as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE') fail(`port ${port} on ${HOST} is already in use; free it or pick another one: PORT=8081 npm run demo`)
    fail(`Gatehouse did not start: ${e.message}`)
  }

  const stop = (signal: NodeJS.Signals) => {
    if (closing) {
      console.log(`${signal} again: exiting now`)
      process.exit(1)
    }
    closing = true
    console.log(`\n${signal}: closing Gatehouse and the demo backends...`)
    closeAll().then(() => {
      console.log('bye')
      process.exit(0)
    }, () => process.exit(1))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)

  // 3. The tour.
  const base = `http://${HOST}:${(app.server.address() as AddressInfo).port}`
  const agent = new Agent({ keepAliveTimeout: 1_000 })
  try {
    await tour(base, backends, agent, config)
  } catch (err) {
    await agent.close().catch(() => {})
    await closeAll()
    fail(`the demo requests failed: ${(err as Error).message}`)
  }
  await agent.close()

  if (exitAfterTour) {
    closing = true
    await closeAll()
    console.log('DEMO_EXIT=1: done, exiting.')
    process.exit(0)
  }
  console.log(`Gatehouse keeps running on ${base} — press Ctrl-C to stop it and the backends.\n`)
}

interface Seen {
  status: number
  headers: Record<string, string | string[] | undefined>
  json: any
}

async function get (url: string, agent: Agent, headers?: Record<string, string>): Promise<Seen> {
  const res = await request(url, { dispatcher: agent, headers })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.statusCode, headers: res.headers, json }
}

async function tour (base: string, demo: DemoBackends, agent: Agent, config: GatehouseConfig): Promise<void> {
  // Ten requests in a row to the api upstream: weighted round robin over api-1..3 (3/1/1).
  const answers: Seen[] = []
  for (let i = 0; i < REQUESTS; i++) answers.push(await get(`${base}/api/hello?n=${i + 1}`, agent))
  // One to the web upstream, and one with headers a client or an earlier proxy would send.
  const web = await get(`${base}/index.html`, agent)
  const traced = await get(`${base}/api/hello`, agent, { 'x-request-id': 'demo-123', 'x-forwarded-for': '203.0.113.7' })
  // Gatehouse logs each request once its response has finished: let those lines come out first.
  await new Promise(resolve => setTimeout(resolve, 100))

  const out: string[] = []
  const line = (s = '') => out.push(s)
  const rule = '─'.repeat(72)

  line()
  line(rule)
  line('  Gatehouse demo')
  line(rule)
  line(`  Gatehouse is listening on ${base}, with the config in examples/gatehouse.json:`)
  line('    /api/*  → upstream "api" (api-1 :9001 weight 3, api-2 :9002 weight 1, api-3 :9003 weight 1),')
  line('              with the /api prefix stripped: /api/hello reaches the backend as /hello')
  line('    /*      → upstream "web" (web-1 :9100)')
  line(`  Demo backends: ${demo.backends.map(b => `${b.name} ${b.url}`).join(', ')}`)
  line('  (The JSON lines above are Gatehouse\'s own log: one "proxied" line per request.)')
  line()
  line('  Try it yourself:')
  line(`    curl -i ${base}/api/hello`)
  line(`    curl -i ${base}/`)
  line()
  line(`  ${REQUESTS} requests in a row to GET /api/hello — who answered:`)
  line()
  line('    #   status  x-backend   path seen by the backend')
  answers.forEach((a, i) => {
    line(`    ${String(i + 1).padStart(2)}  ${String(a.status).padEnd(6)}  ${String(a.headers['x-backend'] ?? '-').padEnd(10)}  ${a.json?.path ?? '-'}`)
  })
  const counts = new Map<string, number>()
  for (const a of answers) {
    const name = String(a.headers['x-backend'] ?? '(none)')
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  line()
  line('    backend   weight  answered')
  // Weights from the config, by server id (a server without one is named host:port, as Gatehouse does).
  const weights = new Map((config.upstreams.api?.servers ?? []).map(s => [s.id ?? new URL(s.url).host, s.weight ?? 1]))
  for (const name of [...new Set([...weights.keys(), ...counts.keys()])].sort()) {
    const n = counts.get(name) ?? 0
    line(`    ${name.padEnd(8)}  ${String(weights.get(name) ?? '-').padStart(6)}  ${String(n).padStart(8)}  ${'█'.repeat(n)}`)
  }
  line('    Weighted round robin: over every 5 requests api-1 gets 3, api-2 and api-3 one each,')
  line('    interleaved rather than in bursts.')
  line()
  line(`  GET /index.html went to the "web" upstream: x-backend: ${String(web.headers['x-backend'] ?? '-')}, status ${web.status}.`)
  line()
  line('  What to look for in a response (curl -i shows the headers):')
  const first = answers[0]
  line(`    x-backend: ${String(first.headers['x-backend'])}     which server answered (set by the demo backend)`)
  line(`    x-request-id: ${String(first.headers['x-request-id'])}`)
  line('                  made up by Gatehouse when the client sent none, sent to the backend')
  line('                  and returned to the client; a client\'s own x-request-id is kept')
  line()
  line('  What the backend saw (the "headers" in its JSON answer), for a request sent with')
  line('  x-request-id: demo-123 and x-forwarded-for: 203.0.113.7:')
  const h = (traced.json?.headers ?? {}) as Record<string, string>
  for (const name of ['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']) {
    line(`    ${(name + ':').padEnd(19)} ${h[name] ?? '(absent)'}`)
  }
  line('    x-forwarded-for has the client address appended to what the client sent; the')
  line('    original Host is kept (preserveHost), and x-forwarded-proto/-host describe this hop.')
  line(rule)
  line()
  console.log(out.join('\n'))
}

main().catch(err => fail((err as Error).stack ?? String(err)))
