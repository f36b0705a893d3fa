import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'

/**
 * Re-reads the config file and applies it, as SIGHUP and `"watch": true` both do: one log
 * line either way, `config reloaded` (with what changed, and the runtime changes it dropped)
 * or `config reload refused` (the previous config keeps serving).
 */
export function reloadFile (fastify: FastifyInstance, file: string, trigger: 'SIGHUP' | 'watch'): void {
  const started = process.hrtime.bigint()
  try {
    const summary = fastify.gatehouse.reload(JSON.parse(readFileSync(file, 'utf8')))
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    fastify.log.info({ ...summary, trigger, ms }, 'config reloaded')
  } catch (err) {
    fastify.log.error({ file, trigger, error: (err as Error).message }, 'config reload refused; the previous config keeps serving')
  }
}
