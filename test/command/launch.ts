import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { once } from 'node:events'

/**
 * fastify-cli reads `-p 0` as no port (`opts.port || process.env.PORT || 3000`): every gateway
 * would bind 3000, and test files running side by side would collide. PORT=0 is the ephemeral port.
 */
export const EPHEMERAL_PORT = { PORT: '0' }

type Test = { teardown (fn: () => unknown): void }

export interface Launched {
  child: ChildProcess
  logs: Array<Record<string, any>>
  /** Resolves with the first log line (past or future) that matches; rejects at the deadline. */
  waitForLog (match: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>
  /** Resolves with the address of "Server listening at ..." and the pid that logged it. */
  listening (): Promise<{ url: string, port: number, pid: number }>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** stdout and stderr as they came. */
  output (): string
  stderr (): string
}

/** Starts a command with stdout read as pino JSON lines (other lines kept as { msg }). */
export function launch (t: Test, command: string, args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): Launched {
  const child = spawn(command, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  // 'close', not 'exit': the last lines a process wrote may still be in its pipes when it exits.
  const exited = once(child, 'close').then(([code, signal]) => ({ code, signal })) as Launched['exited']
  const logs: Launched['logs'] = []
  const waiters = new Set<(l: Record<string, any>) => void>()
  let text = ''
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { text += c; err += c })
  let buffered = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    text += c
    buffered += c
    let nl
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      let parsed: Record<string, any>
      try { parsed = JSON.parse(line) } catch { parsed = { msg: line } }
      logs.push(parsed)
      for (const w of [...waiters]) w(parsed)
    }
  })
  const waitForLog: Launched['waitForLog'] = (match, timeoutMs = 15_000) => {
    const found = logs.find(match)
    if (found !== undefined) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`no matching log line within ${timeoutMs} ms; output:\n${text}`)) }, timeoutMs)
      const w = (l: Record<string, any>) => { if (match(l)) { waiters.delete(w); clearTimeout(timer); resolve(l) } }
      waiters.add(w)
      // A process that exited will log nothing more: say so at once rather than at the deadline.
      exited.then(() => {
        if (!waiters.delete(w)) return
        clearTimeout(timer)
        reject(new Error(`process exited before a matching log line; output:\n${text}`))
      }, () => {})
    })
  }
  const listening = async () => {
    const line = await waitForLog(l => typeof l.msg === 'string' && l.msg.startsWith('Server listening at '))
    const url = String(line.msg).slice('Server listening at '.length)
    return { url, port: Number(new URL(url).port), pid: line.pid as number }
  }
  // A gateway left behind by a failed test must not outlive the run.
  t.teardown(() => {
    const pids = new Set(logs.map(l => l.pid).filter(p => typeof p === 'number'))
    for (const pid of pids) if (!gone(pid)) process.kill(pid, 'SIGKILL')
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, logs, waitForLog, listening, exited, output: () => text, stderr: () => err }
}

/** True when no process has this pid any more (a zombie no one reaped counts as gone). */
export function gone (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return true
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

/** True when nothing accepts connections on 127.0.0.1:port. */
export function refused (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => resolve(true))
  })
}
