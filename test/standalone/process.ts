import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { once } from 'node:events'

const ROOT = resolve(__dirname, '..', '..')
const CLI = join(ROOT, 'node_modules', 'fastify-cli', 'cli.js')
const APP = join(ROOT, 'dist', 'app.js')

type Test = { teardown (fn: () => unknown): void }

export interface Standalone {
  child: ChildProcess
  url: string
  logs: Array<Record<string, any>>
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog (match: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  stderr (): string
}

export function writeConfig (config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-'))
  const file = join(dir, 'gatehouse.json')
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config))
  return file
}

/**
 * The built gateway under the plain `fastify start` command, exactly as users run it
 * (no close-grace flag), on an ephemeral port read back from its log.
 */
export async function startStandalone (t: Test, configFile: string, opts: { waitListening?: boolean } = {}): Promise<Standalone> {
  const child = spawn(process.execPath, [CLI, 'start', '-l', 'info', '-a', '127.0.0.1', '-p', '0', APP], {
    env: { ...process.env, GATEHOUSE_CONFIG: configFile, FASTIFY_CLOSE_GRACE_DELAY: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal })) as Standalone['exited']
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const logs: Standalone['logs'] = []
  const waiters: Array<{ match: (l: Record<string, any>) => boolean, resolve: (l: Record<string, any>) => void }> = []
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { err += c })
  let buffered = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    buffered += c
    let nl
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      let parsed: Record<string, any>
      try { parsed = JSON.parse(line) } catch { parsed = { msg: line } }
      logs.push(parsed)
      for (const w of [...waiters]) {
        if (w.match(parsed)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(parsed) }
      }
    }
  })
  const waitForLog: Standalone['waitForLog'] = (match, timeoutMs = 5000) => {
    const found = logs.find(match)
    if (found !== undefined) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs)
      waiters.push({ match, resolve: l => { clearTimeout(timer); resolve(l) } })
      exited.then(() => { clearTimeout(timer); reject(new Error(`process exited; stderr: ${err}`)) }, () => {})
    })
  }
  let url = ''
  if (opts.waitListening !== false) {
    const line = await waitForLog(l => typeof l.msg === 'string' && l.msg.startsWith('Server listening at'))
    url = String(line.msg).replace('Server listening at ', '')
  }
  return { child, url, logs, waitForLog, exited, stderr: () => err }
}
