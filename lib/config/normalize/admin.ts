import { isIP } from 'node:net'
import type { GatehouseConfig } from '../schema'
import type { AdminOptions } from '../types'
import { DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_HOSTS, DEFAULT_ADMIN_SESSION_TTL } from '../defaults'
import { ms, timerMs } from '../values'

/** Whether a host name or address (no port, IPv6 without brackets) is this machine's loopback. */
export function isLoopback (host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h)
  return false
}

/**
 * The admin listener's options. The token comes from the config or
 * GATEHOUSE_ADMIN_TOKEN. A listener on anything but loopback without a token is refused:
 * whoever reaches the port would read every backend, and a token is what makes writes possible.
 */
export function normalizeAdmin (admin: GatehouseConfig['admin'], env: NodeJS.ProcessEnv, problems: string[]): AdminOptions | undefined {
  if (admin === undefined) return undefined
  const host = admin.host ?? DEFAULT_ADMIN_HOST
  const fromEnv = env.GATEHOUSE_ADMIN_TOKEN
  const token = admin.token ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv)
  if (token !== undefined && token.length < 16) problems.push('admin.token: must be at least 16 characters (from GATEHOUSE_ADMIN_TOKEN)')
  if (token === undefined && !isLoopback(host)) {
    problems.push(`admin.host: "${host}" is not a loopback address, so admin.token (or GATEHOUSE_ADMIN_TOKEN) is required: without one, anyone who can reach the port reads every backend's address and state`)
  }
  return {
    port: admin.port,
    host,
    token,
    hosts: (admin.hosts ?? DEFAULT_ADMIN_HOSTS).map(h => h.toLowerCase().replace(/^\[|\]$/g, '')),
    sync: admin.sync,
    sessionTtl: timerMs(problems, 'admin.sessionTtl', ms(admin.sessionTtl, DEFAULT_ADMIN_SESSION_TTL))
  }
}
