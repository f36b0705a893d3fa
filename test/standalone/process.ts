import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { EPHEMERAL_PORT, launch } from '../command/launch'

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
  const gw = launch(t, process.execPath, [CLI, 'start', '-l', 'info', '-a', '127.0.0.1', '-p', '0', APP], {
    env: { GATEHOUSE_CONFIG: configFile, FASTIFY_CLOSE_GRACE_DELAY: '', ...EPHEMERAL_PORT }
  })
  const url = opts.waitListening === false ? '' : (await gw.listening()).url
  return { child: gw.child, url, logs: gw.logs, waitForLog: gw.waitForLog, exited: gw.exited, stderr: gw.stderr }
}
