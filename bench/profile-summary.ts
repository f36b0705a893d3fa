/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `BENCH_PROFILE=gatehouse npm run bench`):
 * the functions with the most self time, self time by package / file, and the inclusive
 * (self + callees) time of the project's own functions.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile | directory (its largest profile)> [top=25] [requests]
 *
 * With `requests` (the number of requests the profiled process answered; bench/run.ts prints
 * it) each line also shows microseconds per request. Locations are those of the code as
 * tsx compiled it (no source maps), so functions are best found by name.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

interface CallFrame { functionName: string, url: string, lineNumber: number, columnNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface Profile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

const ROOT = resolve(__dirname, '..')

function pickFile (arg: string): string {
  const path = resolve(arg)
  if (!statSync(path).isDirectory()) return path
  const files = readdirSync(path).filter(f => f.endsWith('.cpuprofile')).map(f => join(path, f))
  if (files.length === 0) throw new Error(`no .cpuprofile in ${path}`)
  // The largest: a process under tsx also writes a small profile for its module-loader thread.
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0]
}

function shortUrl (url: string): string {
  let u = url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('/node_modules/')
  if (nm !== -1) return u.slice(nm + '/node_modules/'.length)
  if (u.startsWith(ROOT + '/')) u = u.slice(ROOT.length + 1)
  return u
}

/** Where time is spent, coarsely: a package, node's own code, a project file, or V8. */
function bucket (frame: CallFrame): string {
  const name = frame.functionName
  if (frame.url === '') {
    if (name === '(garbage collector)' || name === '(idle)' || name === '(program)' || name === '(root)') return name
    return '(native / V8 builtins)'
  }
  if (frame.url.startsWith('node:')) return 'node core (' + frame.url.replace(/^node:/, '').split('/').slice(0, 2).join('/') + ')'
  const u = frame.url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('/node_modules/')
  if (nm !== -1) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  if (u.startsWith(ROOT + '/')) return 'project: ' + u.slice(ROOT.length + 1)
  return u
}

function key (frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'}  ${frame.url === '' ? '' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`}`
}

function main (): void {
  const [arg, topArg] = process.argv.slice(2)
  if (arg === undefined) {
    console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile | directory> [top]')
    process.exit(2)
  }
  const top = Number(topArg ?? 25)
  const requests = Number(process.argv[4] ?? 0)
  const file = pickFile(arg)
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile

  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const n of profile.nodes) byId.set(n.id, n)
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

  const self = new Map<string, number>()
  const buckets = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let total = 0
  let idle = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    const node = byId.get(id)
    if (node === undefined) return
    total += dt
    if (node.callFrame.functionName === '(idle)') idle += dt
    const k = key(node.callFrame)
    self.set(k, (self.get(k) ?? 0) + dt)
    const b = bucket(node.callFrame)
    buckets.set(b, (buckets.get(b) ?? 0) + dt)
    // Inclusive: every distinct project function on the stack gets this sample once.
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame
      if (!bucket(frame).startsWith('project: ')) continue
      const fk = key(frame)
      if (seen.has(fk)) continue
      seen.add(fk)
      inclusive.set(fk, (inclusive.get(fk) ?? 0) + dt)
    }
  })

  const busy = total - idle
  const ms = (us: number) => (us / 1000).toFixed(1).padStart(8)
  const pct = (us: number) => `${(100 * us / busy).toFixed(1).padStart(5)}%` + (requests > 0 ? ` ${(us / requests).toFixed(1).padStart(6)} µs/req` : '')
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1])

  console.log(`profile: ${file}`)
  console.log(`sampled ${(total / 1e6).toFixed(2)} s, of which idle ${(idle / 1e6).toFixed(2)} s; percentages are of the ${(busy / 1e6).toFixed(2)} s busy time`)
  if (requests > 0) console.log(`${requests} requests: ${(busy / requests).toFixed(1)} µs of busy time per request${file.includes("-measured-") ? "" : " (start-up included)"}`)
  console.log()

  console.log(`Top ${top} functions by self time`)
  console.log(`      ms   busy${requests > 0 ? '             ' : ''}  function  location`)
  for (const [k, us] of sorted(self).filter(([k]) => !k.startsWith('(idle)')).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${k}`)

  console.log('\nSelf time by package / file')
  for (const [b, us] of sorted(buckets).filter(([b]) => b !== '(idle)').slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${b}`)

  console.log('\nProject functions by inclusive time (self + everything they call)')
  for (const [k, us] of sorted(inclusive).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${k}`)
}

main()
