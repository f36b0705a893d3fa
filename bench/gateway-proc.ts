/**
 * One gateway under test, run by bench/run.ts as a child process (own event loop, own memory):
 *
 *   node --import tsx bench/gateway-proc.ts <gatehouse|http-proxy> <backend-url>
 *
 * Listens on 127.0.0.1:0 and prints `{"port":N}` on stdout. Samples its RSS every 100 ms.
 * Over the IPC channel it answers:
 *   { cmd: 'reset' }  → starts a new measurement window (peak RSS and CPU time since now)
 *   { cmd: 'report' } → { peakRss, rss, maxRss, cpuUserMs, cpuSystemMs } for the window
 *   { cmd: 'profile-start' }        → starts a CPU profile (node:inspector, 1 ms sampling, as --cpu-prof)
 *   { cmd: 'profile-stop', file }   → stops it and writes it to `file` (a .cpuprofile)
 *   { cmd: 'exit' }   → closes the server and exits 0 (so that --cpu-prof writes its profile)
 * Exits by itself when the parent goes away.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'

const [kind, backend] = process.argv.slice(2)
if ((kind !== 'gatehouse' && kind !== 'http-proxy') || backend === undefined) {
  console.error('usage: gateway-proc.ts <gatehouse|http-proxy> <backend-url>')
  process.exit(2)
}

let peakRss = process.memoryUsage.rss()
let cpuAtReset = process.cpuUsage()
const sampler = setInterval(() => {
  const rss = process.memoryUsage.rss()
  if (rss > peakRss) peakRss = rss
}, 100)
sampler.unref()

async function build (): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  if (kind === 'gatehouse') {
    const { default: gatehouse } = await import('../app')
    await app.register(gatehouse, {
      upstreams: { bench: { servers: [{ url: backend }] } },
      routes: [{ match: { path: '/*' }, upstream: 'bench' }]
    })
  } else {
    const { default: httpProxy } = await import('@fastify/http-proxy')
    await app.register(httpProxy, { upstream: backend })
  }
  return app
}

let session: Session | undefined

function post<T = unknown> (method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session!.post(method, params ?? {}, (err, result) => err === null ? resolve(result as T) : reject(err))
  })
}

async function profileStart (): Promise<void> {
  session = new Session()
  session.connect()
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 1000 })
  await post('Profiler.start')
}

async function profileStop (file: string): Promise<void> {
  const { profile } = await post<{ profile: unknown }>('Profiler.stop')
  writeFileSync(file, JSON.stringify(profile))
  session!.disconnect()
  session = undefined
}

async function main (): Promise<void> {
  const app = await build()
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.stdout.write(JSON.stringify({ port: (app.server.address() as AddressInfo).port, kind, pid: process.pid }) + '\n')

  let exiting = false
  const exit = () => {
    if (exiting) return
    exiting = true
    clearInterval(sampler)
    const hard = setTimeout(() => process.exit(0), 2_000)
    hard.unref()
    app.close().finally(() => process.exit(0))
  }

  process.on('message', (msg: { cmd?: string, file?: string }) => {
    switch (msg?.cmd) {
      case 'reset':
        peakRss = process.memoryUsage.rss()
        cpuAtReset = process.cpuUsage()
        process.send?.({ cmd: 'reset', ok: true })
        break
      case 'report': {
        const rss = process.memoryUsage.rss()
        if (rss > peakRss) peakRss = rss
        const cpu = process.cpuUsage(cpuAtReset)
        process.send?.({
          cmd: 'report',
          peakRss,
          rss,
          // The kernel's own high-water mark for the whole life of the process, in bytes.
          maxRss: process.resourceUsage().maxRSS * 1024,
          cpuUserMs: cpu.user / 1000,
          cpuSystemMs: cpu.system / 1000
        })
        break
      }
      case 'profile-start':
        profileStart().then(() => process.send?.({ cmd: msg.cmd, ok: true }), (err: Error) => process.send?.({ cmd: msg.cmd, error: err.message }))
        break
      case 'profile-stop':
        profileStop(String(msg.file)).then(() => process.send?.({ cmd: msg.cmd, ok: true }), (err: Error) => process.send?.({ cmd: msg.cmd, error: err.message }))
        break
      case 'exit':
        exit()
        break
    }
  })
  process.on('disconnect', exit)
  process.on('SIGTERM', exit)
  process.on('SIGINT', exit)
}

main().catch(err => {
  console.error(err)
  process.exit(1)
})
