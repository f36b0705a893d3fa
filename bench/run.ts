/**
 * `npm run bench`: Gatehouse against a direct connection and against @fastify/http-proxy.
 *
 * One backend (bench/backend-proc.ts) and two gateways (bench/gateway-proc.ts: Gatehouse, and
 * @fastify/http-proxy), each a child process with its own event loop; the load generator
 * (autocannon) runs here. Every round runs each scenario against direct, gatehouse and
 * http-proxy one after another, after one warm-up per scenario and target. Prints a table
 * and writes bench/results.json. Never part of the tests.
 *
 * Environment:
 *   BENCH_DURATION   seconds per measurement (default 5)
 *   BENCH_ROUNDS     rounds (default 3)
 *   BENCH_WARMUP     seconds of warm-up per scenario and target, before round 1 (default 2)
 *   BENCH_TARGETS    comma list of direct,gatehouse,http-proxy (default all three)
 *   BENCH_SCENARIOS  comma list of small,big (default both)
 *   BENCH_PROFILE    gatehouse or http-proxy: run that gateway under `node --cpu-prof` (its whole life)
 *   BENCH_PROFILE_WINDOW=1  instead, profile only the measured runs (node:inspector in the child),
 *                    leaving out start-up and warm-up
 *   BENCH_PROFILE_DIR  where the .cpuprofile goes (default $TMPDIR/gatehouse-profiles)
 *   BENCH_OUT        results file (default bench/results.json, or none when profiling); "-" for none
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

// autocannon ships no types; this is the part of its programmatic API used here.
interface Histogram { average: number, mean: number, stddev: number, min: number, max: number, total: number, p50: number, p90: number, p99: number, [k: string]: number }
interface AutocannonResult {
  requests: Histogram & { sent: number }
  latency: Histogram
  throughput: Histogram
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>

type TargetName = 'direct' | 'gatehouse' | 'http-proxy'
type ScenarioName = 'small' | 'big'

interface Scenario { name: ScenarioName, label: string, path: string, connections: number }

const SCENARIOS: Scenario[] = [
  { name: 'small', label: 'small GET (~100 B)', path: '/small', connections: 50 },
  { name: 'big', label: '1 MiB GET', path: '/big', connections: 10 }
]
const TARGETS: TargetName[] = ['direct', 'gatehouse', 'http-proxy']

const ROOT = resolve(__dirname, '..')

function envNumber (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got "${raw}")`)
  return n
}

function envList<T extends string> (name: string, all: readonly T[]): T[] {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return [...all]
  const list = raw.split(',').map(s => s.trim()).filter(Boolean)
  for (const item of list) if (!all.includes(item as T)) throw new Error(`${name}: unknown "${item}" (known: ${all.join(', ')})`)
  return list as T[]
}

const DURATION = envNumber('BENCH_DURATION', 5)
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 3))
const WARMUP = envNumber('BENCH_WARMUP', 2)
const targets = envList('BENCH_TARGETS', TARGETS)
const scenarios = SCENARIOS.filter(s => envList('BENCH_SCENARIOS', SCENARIOS.map(x => x.name)).includes(s.name))
const PROFILE = process.env.BENCH_PROFILE ?? ''
if (PROFILE !== '' && PROFILE !== 'gatehouse' && PROFILE !== 'http-proxy') throw new Error('BENCH_PROFILE must be gatehouse or http-proxy')
// Outside the working tree by default: profiles are large and not meant to be committed.
const PROFILE_DIR = resolve(process.env.BENCH_PROFILE_DIR ?? join(tmpdir(), 'gatehouse-profiles'))
const PROFILE_WINDOW = PROFILE !== '' && process.env.BENCH_PROFILE_WINDOW === '1'
const OUT = process.env.BENCH_OUT ?? (PROFILE === '' ? join(ROOT, 'bench', 'results.json') : '-')

// ---------------------------------------------------------------------------------------
// Child processes: started here, and only these are ever stopped here.

interface Child {
  name: string
  proc: ChildProcess
  port: number
}

const children: Child[] = []
let stopping = false
const spawned: ChildProcess[] = []

async function startChild (name: string, script: string, args: string[], nodeFlags: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', join(ROOT, 'bench', script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' }
  })
  spawned.push(proc)
  // A failed send on a closed channel (while stopping) must not crash the run as an unhandled 'error'.
  proc.on('error', err => { if (!stopping) console.error(`${name}: ${err.message}`) })
  const lines = createInterface({ input: proc.stdout! })
  const first = new Promise<{ port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: did not start within 30 s`)), 30_000)
    lines.once('line', line => {
      clearTimeout(timer)
      try { resolve(JSON.parse(line)) } catch { reject(new Error(`${name}: unexpected first line: ${line}`)) }
    })
    proc.once('exit', code => { clearTimeout(timer); reject(new Error(`${name}: exited with ${code} before listening`)) })
  })
  const { port } = await first
  const child = { name, proc, port }
  children.push(child)
  return child
}

function ask<T> (child: Child, cmd: string, extra: object = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.proc.off('message', onMessage); reject(new Error(`${child.name}: no answer to ${cmd}`)) }, 5_000)
    const onMessage = (msg: { cmd?: string }) => {
      if (msg?.cmd !== cmd) return
      clearTimeout(timer)
      child.proc.off('message', onMessage)
      if ((msg as { error?: string }).error !== undefined) reject(new Error(`${child.name}: ${cmd}: ${(msg as { error: string }).error}`))
      else resolve(msg as T)
    }
    if (!child.proc.connected) {
      clearTimeout(timer)
      reject(new Error(`${child.name}: not running`))
      return
    }
    child.proc.on('message', onMessage)
    child.proc.send({ cmd, ...extra }, err => {
      if (err == null) return
      clearTimeout(timer)
      child.proc.off('message', onMessage)
      reject(err)
    })
  })
}

async function stopChildren (): Promise<void> {
  await Promise.all(spawned.map(async proc => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const exited = once(proc, 'exit')
    // Ask first (a profiled gateway writes its .cpuprofile on a clean exit), then insist.
    if (proc.connected) proc.send({ cmd: 'exit' })
    else proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }))
}

// ---------------------------------------------------------------------------------------
// Measurements.

interface GatewayReport { peakRss: number, rss: number, maxRss: number, cpuUserMs: number, cpuSystemMs: number }

interface Run {
  round: number
  scenario: ScenarioName
  target: TargetName
  rps: number
  requests: number
  latencyAvgMs: number
  latencyP50Ms: number
  latencyP99Ms: number
  throughputMBps: number
  errors: number
  timeouts: number
  non2xx: number
  /** The gateway process during this run; absent for direct. */
  gateway?: GatewayReport & { cpuUsPerRequest: number }
}

/** Every request each target answered, warm-up included: a profile's time per request needs it. */
const served = new Map<string, number>()

async function load (url: string, connections: number, seconds: number): Promise<AutocannonResult> {
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1, timeout: 10 })
  const origin = new URL(url).origin
  served.set(origin, (served.get(origin) ?? 0) + r.requests.total)
  return r
}

async function measure (round: number, scenario: Scenario, target: TargetName, url: string, gateway?: Child): Promise<Run> {
  if (gateway !== undefined) await ask(gateway, 'reset')
  const r = await load(url, scenario.connections, DURATION)
  const report = gateway === undefined ? undefined : await ask<GatewayReport>(gateway, 'report')
  const requests = r.requests.total
  return {
    round,
    scenario: scenario.name,
    target,
    rps: r.requests.average,
    requests,
    latencyAvgMs: r.latency.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    throughputMBps: r.throughput.average / 1024 / 1024,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    gateway: report === undefined
      ? undefined
      : { ...report, cpuUsPerRequest: requests > 0 ? (report.cpuUserMs + report.cpuSystemMs) * 1000 / requests : 0 }
  }
}

function median (xs: number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

interface Summary {
  scenario: ScenarioName
  target: TargetName
  rps: number
  latencyP99Ms: number
  latencyAvgMs: number
  throughputMBps: number
  idleRssMB?: number
  peakRssMB?: number
  cpuUsPerRequest?: number
  errors: number
  non2xx: number
  rpsVsDirect?: number
  p99VsDirect?: number
}

function summarize (runs: Run[], idleRss: Map<TargetName, number>): Summary[] {
  const out: Summary[] = []
  for (const scenario of scenarios) {
    const direct = runs.filter(r => r.scenario === scenario.name && r.target === 'direct')
    const directRps = median(direct.map(r => r.rps))
    const directP99 = median(direct.map(r => r.latencyP99Ms))
    for (const target of targets) {
      const rs = runs.filter(r => r.scenario === scenario.name && r.target === target)
      const rps = median(rs.map(r => r.rps))
      const p99 = median(rs.map(r => r.latencyP99Ms))
      const gw = rs.flatMap(r => r.gateway === undefined ? [] : [r.gateway])
      out.push({
        scenario: scenario.name,
        target,
        rps,
        latencyP99Ms: p99,
        latencyAvgMs: median(rs.map(r => r.latencyAvgMs)),
        throughputMBps: median(rs.map(r => r.throughputMBps)),
        idleRssMB: idleRss.has(target) ? idleRss.get(target)! / 1024 / 1024 : undefined,
        peakRssMB: gw.length === 0 ? undefined : Math.max(...gw.map(g => g.peakRss)) / 1024 / 1024,
        cpuUsPerRequest: gw.length === 0 ? undefined : median(gw.map(g => g.cpuUsPerRequest)),
        errors: rs.reduce((n, r) => n + r.errors + r.timeouts, 0),
        non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
        rpsVsDirect: Number.isFinite(directRps) ? rps / directRps : undefined,
        p99VsDirect: Number.isFinite(directP99) && directP99 > 0 ? p99 / directP99 : undefined
      })
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------
// Output.

const fmt = {
  int: (n: number | undefined) => n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US'),
  f1: (n: number | undefined) => n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(1),
  ratio: (n: number | undefined) => n === undefined || !Number.isFinite(n) ? '—' : `×${n.toFixed(2)}`
}

function table (summary: Summary[]): string {
  const head = ['scenario', 'target', 'req/s (median)', 'vs direct', 'p99 ms', 'vs direct', 'MB/s', 'gw RSS MB idle→peak', 'gw CPU µs/req', 'errors', 'non-2xx']
  const rows: string[][] = summary.map(s => [
    SCENARIOS.find(x => x.name === s.scenario)!.label,
    s.target,
    fmt.int(s.rps),
    s.target === 'direct' ? '' : fmt.ratio(s.rpsVsDirect),
    fmt.f1(s.latencyP99Ms),
    s.target === 'direct' ? '' : fmt.ratio(s.p99VsDirect),
    fmt.f1(s.throughputMBps),
    s.peakRssMB === undefined ? '—' : `${fmt.f1(s.idleRssMB)} → ${fmt.f1(s.peakRssMB)}`,
    fmt.int(s.cpuUsPerRequest),
    String(s.errors),
    String(s.non2xx)
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
  const line = (cells: string[]) => '| ' + cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(' | ') + ' |'
  return [line(head), '|' + widths.map((w, i) => (i < 2 ? ':' : '-') + '-'.repeat(w) + (i < 2 ? '-' : ':')).join('|') + '|', ...rows.map(line)].join('\n')
}

function versus (summary: Summary[]): string[] {
  const out: string[] = []
  for (const scenario of scenarios) {
    const gh = summary.find(s => s.scenario === scenario.name && s.target === 'gatehouse')
    const hp = summary.find(s => s.scenario === scenario.name && s.target === 'http-proxy')
    if (gh === undefined || hp === undefined) continue
    out.push(`gatehouse vs http-proxy, ${scenario.label}: req/s ${fmt.ratio(gh.rps / hp.rps)}, p99 ${fmt.ratio(gh.latencyP99Ms / hp.latencyP99Ms)}, ` +
      `peak RSS ${fmt.ratio((gh.peakRssMB ?? NaN) / (hp.peakRssMB ?? NaN))}, CPU per request ${fmt.ratio((gh.cpuUsPerRequest ?? NaN) / (hp.cpuUsPerRequest ?? NaN))}`)
  }
  return out
}

// ---------------------------------------------------------------------------------------

async function main (): Promise<void> {
  const perRun = DURATION + 1
  const expected = scenarios.length * targets.length * (WARMUP + 1 + ROUNDS * perRun) + 30
  // Bounded whatever happens: a hung child or load run cannot keep the benchmark alive.
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${Math.round(expected * 2)} s; stopping`)
    for (const proc of spawned) if (proc.exitCode === null) proc.kill('SIGKILL')
    process.exit(1)
  }, expected * 2 * 1000)
  watchdog.unref()

  console.log(`Gatehouse benchmark — node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB`)
  console.log(`${ROUNDS} round(s) × ${scenarios.map(s => `${s.name} (${s.connections} connections)`).join(', ')} × ${targets.join(', ')}; ${DURATION} s each, ${WARMUP} s warm-up; about ${Math.round(expected)} s in all.`)
  if (cpus().length <= 4) {
    console.log(`Note: only ${cpus().length} cores. The load generator (autocannon, this process), the backend and the gateway`)
    console.log('compete for them, so absolute numbers are lower than on a dedicated load-test setup, and a gateway')
    console.log('that needs more CPU per request loses more than it would with cores to spare. CPU µs/request')
    console.log('(measured inside the gateway process) is the figure least affected by that.')
  }
  if (PROFILE !== '') console.log(`Profiling: ${PROFILE} ${PROFILE_WINDOW ? 'during the measured runs (node:inspector)' : 'under --cpu-prof'}, profile in ${PROFILE_DIR}`)
  console.log()

  const backend = await startChild('backend', 'backend-proc.ts', [])
  const backendUrl = `http://127.0.0.1:${backend.port}`
  const urls = new Map<TargetName, string>([['direct', backendUrl]])
  const gateways = new Map<TargetName, Child>()
  for (const target of targets) {
    if (target === 'direct') continue
    const flags = PROFILE === target && !PROFILE_WINDOW ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []
    if (PROFILE === target) mkdirSync(PROFILE_DIR, { recursive: true })
    const child = await startChild(target, 'gateway-proc.ts', [target, backendUrl], flags)
    gateways.set(target, child)
    urls.set(target, `http://127.0.0.1:${child.port}`)
  }
  for (const c of children) console.log(`  ${c.name.padEnd(10)} pid ${c.proc.pid}, http://127.0.0.1:${c.port}`)
  // RSS after start-up, before any load (under tsx, which itself accounts for some tens of MB).
  const idleRss = new Map<TargetName, number>()
  for (const [target, child] of gateways) idleRss.set(target, (await ask<GatewayReport>(child, 'report')).rss)
  const loadBefore = loadavg()

  // Each route answers before any load: a broken target fails here, not as a column of errors.
  for (const target of targets) {
    for (const scenario of scenarios) {
      const res = await fetch(urls.get(target)! + scenario.path)
      const body = Buffer.from(await res.arrayBuffer())
      if (res.status !== 200) throw new Error(`${target} ${scenario.path}: status ${res.status}`)
      if (scenario.name === 'big' && body.length !== 1024 * 1024) throw new Error(`${target} /big: ${body.length} bytes`)
    }
  }

  console.log('\nwarming up...')
  for (const scenario of scenarios) {
    for (const target of targets) await load(urls.get(target)! + scenario.path, scenario.connections, WARMUP)
  }

  const profiled = PROFILE_WINDOW ? gateways.get(PROFILE as TargetName) : undefined
  const profileFile = join(PROFILE_DIR, `${PROFILE}-measured-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`)
  if (profiled !== undefined) await ask(profiled, 'profile-start')

  const runs: Run[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of scenarios) {
      for (const target of targets) {
        const run = await measure(round, scenario, target, urls.get(target)! + scenario.path, gateways.get(target))
        runs.push(run)
        const gw = run.gateway === undefined ? '' : `, gateway peak RSS ${(run.gateway.peakRss / 2 ** 20).toFixed(1)} MB, CPU ${run.gateway.cpuUsPerRequest.toFixed(0)} µs/req`
        const bad = run.errors + run.timeouts + run.non2xx > 0 ? `, ${run.errors} errors, ${run.timeouts} timeouts, ${run.non2xx} non-2xx` : ''
        console.log(`round ${round}  ${scenario.name.padEnd(5)}  ${target.padEnd(10)}  ${fmt.int(run.rps).padStart(7)} req/s  p99 ${fmt.f1(run.latencyP99Ms).padStart(6)} ms${gw}${bad}`)
      }
    }
  }

  if (profiled !== undefined) await ask(profiled, 'profile-stop', { file: profileFile })
  const loadAfter = loadavg()
  const summary = summarize(runs, idleRss)
  console.log('\nMedian over rounds (p99: median of the per-round p99; RSS: after start-up → highest sample under load; CPU: user+system time of the gateway process per request)\n')
  console.log(table(summary))
  console.log()
  for (const line of versus(summary)) console.log(line)
  const la = (l: number[]) => l.map(x => x.toFixed(2)).join(' ')
  console.log(`\nMachine: ${cpus().length} cores shared by the load generator, the backend and the gateway under test;`)
  console.log(`load average ${la(loadBefore)} before, ${la(loadAfter)} after (above ${cpus().length} means other work competed too).`)

  if (OUT !== '-') {
    const results = {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      loadAverage: { before: loadBefore, after: loadAfter },
      settings: { durationSeconds: DURATION, rounds: ROUNDS, warmupSeconds: WARMUP, scenarios, targets, profile: PROFILE || undefined },
      summary,
      runs
    }
    writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n')
    console.log(`results written to ${OUT}`)
  }
  await stopChildren()
  clearTimeout(watchdog)
  if (PROFILE_WINDOW) {
    const n = runs.filter(r => r.target === PROFILE).reduce((sum, r) => sum + r.requests, 0)
    console.log(`profile of the measured runs only: ${profileFile}; ${PROFILE} answered ${n} requests in them. Summarise it with:`)
    console.log(`  npx tsx bench/profile-summary.ts ${profileFile} 25 ${n}`)
  } else if (PROFILE !== '') {
    const n = served.get(urls.get(PROFILE as TargetName) ?? '') ?? 0
    console.log(`profile written to ${PROFILE_DIR}; ${PROFILE} answered ${n} requests in all (warm-up included). Summarise it with:`)
    console.log(`  npx tsx bench/profile-summary.ts ${PROFILE_DIR} 25 ${n}`)
  }
}

function bail (code: number): void {
  if (stopping) return
  stopping = true
  stopChildren().finally(() => process.exit(code))
}
process.on('SIGINT', () => { console.error('\ninterrupted; stopping the child processes'); bail(130) })
process.on('SIGTERM', () => bail(143))

main().then(
  () => process.exit(0),
  err => {
    if (stopping) return
    console.error(`bench failed: ${(err as Error).stack ?? String(err)}`)
    bail(1)
  }
)
