/**
 * Unary gRPC calls per second and the proxy's CPU per call: a @grpc/grpc-js client with a
 * fixed number of calls in flight, straight to a grpc-js backend, through Gatehouse (h2c
 * listener to an h2c upstream) and through nginx's grpc_pass (when `nginx` is installed and
 * built with its grpc module), in interleaved rounds in one run, so that a loaded machine
 * weighs on every party alike. The proxy's CPU is its own process's: process.cpuUsage() in
 * the Gatehouse child, /proc/<pid>/stat of nginx's one worker.
 *
 *   npm run bench:grpc                 (ROUNDS=3 SECONDS=3 CONCURRENCY=32)
 *
 *   GRPC_BASELINE=<dir>   also measure the Gatehouse of another checkout (e.g. `git archive` of an
 *                         older commit, node_modules linked), as "gatehouse (baseline)", in the same rounds
 *   GRPC_PROFILE=<dir>    run the Gatehouse child under `node --cpu-prof` (its whole life), the
 *                         profile in <dir>; summarise it with bench/profile-summary.ts
 *
 * Each Gatehouse line also says how many connections the gateway opened to the backend.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'

const ROUNDS = Number(process.env.ROUNDS ?? 3)
const SECONDS = Number(process.env.SECONDS ?? 3)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32)
const TICKS = 100 // USER_HZ of /proc/<pid>/stat

const definition = grpc.loadPackageDefinition(loadSync(join(__dirname, '..', 'test', 'grpc', 'echo.proto'))) as any
const Echo = definition.gatehouse.test.Echo as grpc.ServiceClientConstructor

const BASELINE = process.env.GRPC_BASELINE ?? ''
const PROFILE = process.env.GRPC_PROFILE ?? ''

async function child (args: string[], dir = join(__dirname, '..'), flags: string[] = []): Promise<{ proc: ChildProcess, port: number }> {
  const proc = fork(join(dir, 'bench', 'grpc-proc.ts'), args, { cwd: dir, execArgv: [...flags, '--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  const [line] = await once(proc.stdout!, 'data') as [Buffer]
  return { proc, port: JSON.parse(line.toString()).port }
}

const connectionsOf = new Map<ChildProcess, number>()

async function cpuOfChild (proc: ChildProcess): Promise<number> {
  proc.send({ cmd: 'cpu' })
  const [m] = await once(proc, 'message') as [{ cpu: { user: number, system: number }, connections?: number }]
  if (m.connections !== undefined) connectionsOf.set(proc, m.connections)
  return m.cpu.user + m.cpu.system
}

function cpuOfPid (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / TICKS
}

async function freePort (): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  s.close()
  return port
}

async function nginx (backendPort: number): Promise<{ proc: ChildProcess, port: number, worker: number, dir: string } | string> {
  const v = spawnSync('nginx', ['-V'], { encoding: 'utf8' })
  if (v.error !== undefined) return 'nginx is not installed'
  if (v.stderr.includes('--without-http_grpc_module')) return 'this nginx build has no grpc module'
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-nginx-'))
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:${port} http2; location / { grpc_pass grpc://127.0.0.1:${backendPort}; } } }
`)
  const proc = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' })
  let worker = 0
  const start = Date.now()
  while (worker === 0 && Date.now() - start < 5000) {
    await new Promise(resolve => setTimeout(resolve, 50))
    try {
      worker = Number(readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(' ')[0] || 0)
    } catch {}
  }
  if (worker === 0) return 'nginx did not start'
  return { proc, port, worker, dir }
}

/** Calls in a loop, CONCURRENCY at once, for SECONDS: how many completed. */
async function load (port: number): Promise<number> {
  const client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  // Warm: the connection is up before the clock starts.
  await new Promise<void>((resolve, reject) => (client as any).Say({ text: 'warm' }, (e: Error | null) => e === null ? resolve() : reject(e)))
  const until = Date.now() + SECONDS * 1000
  let done = 0
  let failed = 0
  const worker = async (): Promise<void> => {
    while (Date.now() < until) {
      await new Promise<void>(resolve => (client as any).Say({ text: 'hello' }, (e: Error | null) => { if (e === null) done++; else failed++; resolve() }))
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  client.close()
  if (failed > 0) console.error(`  ${failed} calls failed on port ${port}`)
  return done
}

async function main (): Promise<void> {
  const backend = await child(['backend'])
  const profile = PROFILE === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`]
  const gh = await child(['gatehouse', String(backend.port)], undefined, profile)
  const base = BASELINE === '' ? null : await child(['gatehouse', String(backend.port)], BASELINE)
  const ng = await nginx(backend.port)
  if (typeof ng === 'string') console.log(`nginx: ${ng}; measured without it`)
  const parties: Array<{ name: string, port: number, cpu: (() => Promise<number>) | null, proc?: ChildProcess }> = [
    { name: 'direct', port: backend.port, cpu: null },
    { name: 'gatehouse', port: gh.port, cpu: async () => await cpuOfChild(gh.proc), proc: gh.proc }
  ]
  if (base !== null) parties.push({ name: 'gatehouse (baseline)', port: base.port, cpu: async () => await cpuOfChild(base.proc), proc: base.proc })
  if (typeof ng !== 'string') parties.push({ name: 'nginx grpc_pass', port: ng.port, cpu: async () => cpuOfPid(ng.worker) })
  const totals = new Map(parties.map(p => [p.name, { calls: 0, cpu: 0, rates: [] as number[] }]))
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const p of parties) {
        const before = p.cpu === null ? 0 : await p.cpu()
        const calls = await load(p.port)
        const after = p.cpu === null ? 0 : await p.cpu()
        const total = totals.get(p.name)!
        total.calls += calls
        total.cpu += after - before
        total.rates.push(calls / SECONDS)
        const conns = p.proc === undefined ? undefined : connectionsOf.get(p.proc)
        console.log(`round ${round} ${p.name}: ${Math.round(calls / SECONDS)} calls/s${p.cpu === null ? '' : `, ${((after - before) / calls).toFixed(1)} µs CPU/call`}${conns === undefined ? '' : `, ${conns} backend connections opened so far`}`)
      }
    }
  } finally {
    backend.proc.kill()
    // A disconnect ends the child by itself (process.exit), which --cpu-prof needs to write its profile.
    if (PROFILE === '') gh.proc.kill(); else gh.proc.disconnect()
    base?.proc.kill()
    if (typeof ng !== 'string') { ng.proc.kill('SIGQUIT'); rmSync(ng.dir, { recursive: true, force: true }) }
  }
  const direct = totals.get('direct')!
  console.log(`\nload average ${loadavg().map(l => l.toFixed(2)).join(' ')}`)
  console.log(`${ROUNDS} rounds of ${SECONDS} s, ${CONCURRENCY} calls in flight, unary Say (5-byte text)`)
  console.log('| path | calls/s (mean of rounds) | vs direct | proxy CPU µs/call |')
  console.log('| --- | --- | --- | --- |')
  for (const [name, t] of totals) {
    const rate = t.calls / (ROUNDS * SECONDS)
    console.log(`| ${name} | ${Math.round(rate)} | ${(rate / (direct.calls / (ROUNDS * SECONDS))).toFixed(2)} | ${name === 'direct' ? '-' : (t.cpu / t.calls).toFixed(1)} |`)
  }
}

main().catch(err => { console.error(err); process.exit(1) })
