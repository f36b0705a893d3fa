import { hostname } from 'node:os'

// pino's levels, so that the primary's lines read like the workers' (Fastify's pino).
const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const
export type Level = keyof typeof LEVELS

export interface PrimaryLog {
  debug (fields: object, msg: string): void
  info (fields: object, msg: string): void
  warn (fields: object, msg: string): void
  error (fields: object, msg: string): void
}

/**
 * The primary's log: one JSON line per event to stdout, in pino's shape (level, time, pid,
 * hostname, msg), with `component: "primary"`. Written by hand so that the primary loads
 * neither Fastify nor pino: it stays small, and rarely needs an upgrade of its own.
 */
export function primaryLog (level: string, out: (line: string) => void = l => process.stdout.write(l)): PrimaryLog {
  const min = LEVELS[level as Level] ?? (level === 'silent' ? Infinity : LEVELS.info)
  const host = hostname()
  const write = (name: Level) => (fields: object, msg: string) => {
    if (LEVELS[name] < min) return
    out(`${JSON.stringify({ level: LEVELS[name], time: Date.now(), pid: process.pid, hostname: host, component: 'primary', ...fields, msg })}\n`)
  }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
}
