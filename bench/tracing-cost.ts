/**
 * What tracing costs per request: CPU time of the gateway process (user + system, its own
 * process.cpuUsage(), so the load generator, the backend and the collector sharing the machine
 * are not counted) per small proxied GET, with tracing off, on and sampled (spans exported to a
 * collector that accepts them), and on with sampleRatio 0 (context propagated, nothing exported).
 * Variants are interleaved round by round and the median per variant is reported, since the
 * machine is shared: CPU per request moves far less with load than throughput does.
 *
 *   node --import tsx bench/tracing-cost.ts [rounds] [requests]
 *
 * With TRACING_COST_BASE=DIR (a checkout of another commit, with this file copied into its
 * bench/ and node_modules linked), its gateway runs as one more variant with tracing off:
 * "off" against it is what the hook points cost a gateway that does not trace.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'

type Message = { port?: number, cpuMs?: number }

if (process.argv[2] === '--gateway') {
  void gatewayChild(JSON.parse(process.argv[3]))
} else {
  void main(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 10_000))
}

async function gatewayChild (config: object): Promise<void> {
  const { default: Fastify } = await import('fastify')
  const { default: gatehouse } = await import('../app')
  const app = Fastify({ logger: false })
  await app.register(gatehouse, config as never)
  await app.listen({ port: 0, host: '127.0.0.1' })
  let start = process.cpuUsage()
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'reset') {
      start = process.cpuUsage()
      process.send?.({})
    } else if (m.cmd === 'report') {
      const used = process.cpuUsage(start)
      process.send?.({ cpuMs: (used.user + used.system) / 1000 })
    } else if (m.cmd === 'exit') {
      void app.close().then(() => process.exit(0))
    }
  })
  process.on('disconnect', () => process.exit(0))
  process.send?.({ port: (app.server.address() as AddressInfo).port })
}

function ask (child: ChildProcess, cmd: string): Promise<Message> {
  const answer = once(child, 'message') as Promise<[Message]>
  child.send({ cmd })
  return answer.then(([m]) => m)
}

async function load (url: string, n: number): Promise<void> {
  const pool = new Pool(url, { connections: 16 })
  let sent = 0
  const worker = async (): Promise<void> => {
    while (sent < n) {
      sent++
      const res = await pool.request({ path: '/bench', method: 'GET' })
      await res.body.dump()
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`)
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  await pool.close()
}

async function main (rounds: number, requests: number): Promise<void> {
  const backend = createServer((req, res) => { req.resume(); res.end('{"ok":true,"pad":"' + 'x'.repeat(64) + '"}') })
  backend.keepAliveTimeout = 30_000
  backend.listen(0, '127.0.0.1')
  await once(backend, 'listening')
  let exported = 0
  const collector = createServer((req, res) => {
    req.on('data', () => {}).on('end', () => { exported++; res.end('{}') })
  })
  collector.listen(0, '127.0.0.1')
  await once(collector, 'listening')
  const plain = {
    upstreams: { b: { servers: [{ url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}` }] } },
    routes: [{ match: { path: '/*' }, upstream: 'b' }]
  }
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`
  const variants: Record<string, object> = {
    off: plain,
    'on, sampled': { ...plain, tracing: { endpoint, batchDelay: 200 } },
    'on, ratio 0': { ...plain, tracing: { endpoint, sampleRatio: 0 } }
  }
  const base = process.env.TRACING_COST_BASE
  const scripts: Record<string, string> = {}
  if (base !== undefined) {
    variants['off, base'] = plain
    scripts['off, base'] = `${base}/bench/tracing-cost.ts`
  }
  const results: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map(k => [k, []]))
  for (let r = 0; r < rounds; r++) {
    for (const [name, config] of Object.entries(variants)) {
      const child = fork(scripts[name] ?? __filename, ['--gateway', JSON.stringify(config)], { execArgv: ['--import', 'tsx'] })
      const [{ port }] = await once(child, 'message') as [Message]
      const url = `http://127.0.0.1:${port}`
      await load(url, 2000)
      await ask(child, 'reset')
      await load(url, requests)
      const { cpuMs } = await ask(child, 'report')
      results[name].push((cpuMs as number) * 1000 / requests)
      child.send({ cmd: 'exit' })
      await once(child, 'exit')
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const off = median(results.off)
  for (const [name, xs] of Object.entries(results)) {
    const m = median(xs)
    console.log(`${name.padEnd(12)} ${m.toFixed(1).padStart(7)} µs CPU/request (median of ${xs.length}: ${xs.map(x => x.toFixed(0)).join(' ')})${name === 'off' ? '' : `  ${m - off >= 0 ? '+' : ''}${(m - off).toFixed(1)} µs, ×${(m / off).toFixed(2)}`}`)
  }
  console.log(`collector export requests received: ${exported}`)
  backend.close()
  collector.close()
}
