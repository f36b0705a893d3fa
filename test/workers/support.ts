import { join } from 'node:path'
import { Agent, request } from 'undici'
import { ROOT } from '../readme'
import { writeConfig } from '../standalone/process'
import { launch, type Launched } from '../command/launch'
import { waitFor } from '../wait'

// The built command, as users run it: `npm run build` first.
export const BIN = join(ROOT, 'dist', 'bin', 'gatehouse.js')

type Test = Parameters<typeof launch>[0]

export const configWith = (url: string, extra: Record<string, unknown> = {}) => ({
  upstreams: { u: { servers: [{ url }] } },
  routes: [{ match: { path: '/*' }, upstream: 'u' }],
  admin: { port: 0 },
  ...extra
})

export interface WorkerRow { id: number, pid: number, state: string, startedAt: string, requests: number, version: string }

export interface Machine {
  gw: Launched
  file: string
  url: string
  admin: string
  primary: number
  workers (): Promise<{ workers: WorkerRow[], deaths: number }>
}

/** `gatehouse --workers N` on a free port; resolves once every worker said it is ready. */
export async function startWorkers (t: Test, config: unknown, opts: { workers?: number, bin?: string, args?: string[], file?: string, flag?: boolean, token?: string } = {}): Promise<Machine> {
  const n = opts.workers ?? 2
  const file = opts.file ?? writeConfig(config)
  const gw = launch(t, process.execPath, [opts.bin ?? BIN, '--port', '0', ...(opts.flag === false ? [] : ['--workers', String(n)]), ...(opts.args ?? []), file])
  await waitFor(() => {
    if (gw.child.exitCode !== null) throw new Error(`exited before ${n} workers were ready; output:\n${gw.output()}`)
    return gw.logs.filter(l => l.msg === 'worker ready').length >= n
  }, { timeout: 20_000, what: `${n} workers ready` })
  const adminLine = await gw.waitForLog(l => l.msg === 'admin API listening')
  const { url } = await gw.listening()
  const primary = gw.logs.find(l => l.component === 'primary')!.pid as number
  const admin = adminLine.url as string
  return {
    gw,
    file,
    url,
    admin,
    primary,
    workers: async () => (await get(`${admin}/workers`, opts.token)).json()
  }
}

// Fresh connections each time, so that the round-robin spreads them.
const fresh = new Agent({ pipelining: 0 })

export async function get (url: string, token?: string): Promise<{ status: number, headers: Record<string, unknown>, body: string, json (): any }> {
  const res = await request(url, { dispatcher: fresh, headers: { connection: 'close', ...(token !== undefined && { authorization: `Bearer ${token}` }) } })
  const body = await res.body.text()
  return { status: res.statusCode, headers: res.headers, body, json: () => JSON.parse(body) }
}

/**
 * Steady load: `connections` keep-alive connections each sending requests one after another
 * until stop(), GETs and POSTs of a small JSON body in turn; every answer that is not 200, and
 * every error (reset, refused), is a failure.
 */
export function load (url: string, connections = 64) {
  const agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000 })
  let running = true
  const counts = { ok: 0, failed: 0, errors: [] as string[] }
  const loops = Array.from({ length: connections }, async (_, i) => {
    let post = i % 2 === 1
    while (running) {
      post = !post
      try {
        const res = await request(`${url}/load`, post
          ? { dispatcher: agent, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' }
          : { dispatcher: agent })
        await res.body.text()
        if (res.statusCode === 200) counts.ok++
        else { counts.failed++; counts.errors.push(`status ${res.statusCode}`) }
      } catch (err) {
        counts.failed++
        counts.errors.push((err as Error & { code?: string }).code ?? (err as Error).message)
      }
    }
  })
  return {
    counts,
    async stop () {
      running = false
      await Promise.all(loops)
      await agent.close()
      return counts
    }
  }
}
