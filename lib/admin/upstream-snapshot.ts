import type { Upstream } from '../upstreams/upstream'
import type { AdminState } from '../upstreams/backend'

/** Every state a server can be in, in the order the snapshot decides them. */
export const SERVER_STATES = ['ready', 'unhealthy', 'ejected', 'trial', 'draining', 'maint'] as const
export type ServerState = typeof SERVER_STATES[number]

export interface ServerSnapshot {
  id: string
  url: string
  weight: number
  backup: boolean
  /** What the selection sees now: ready takes requests; otherwise the first reason it does not. */
  state: ServerState
  /** What an operator set through the admin API: ready, drain or maint. */
  adminState: AdminState
  healthy: boolean
  ejectedUntil: string | null
  inflight: number
  attempts: number
  failedAttempts: number
}

export interface UpstreamSnapshot {
  name: string
  balance: string
  ready: number
  retries: number
  /** Attempts that waited `timeouts.queue` for a free connection and got none. */
  queueTimeouts: number
  /** Requests refused by a filter, by reason. */
  refused: Record<string, number>
  responses: Record<string, number>
  servers: ServerSnapshot[]
}

/** The state of every group and server, as the admin API shows it. */
export function snapshot (upstreams: readonly Upstream[], now: number): UpstreamSnapshot[] {
  return upstreams.map(upstream => {
    const servers = upstream.backends.all().map((s): ServerSnapshot => ({
      id: s.id,
      url: s.url,
      weight: s.weight,
      backup: s.backup,
      state: s.adminState === 'maint' ? 'maint' : s.draining || s.adminState === 'drain' ? 'draining' : !s.healthy ? 'unhealthy' : s.trialInFlight ? 'trial' : s.ejectedUntil > now ? 'ejected' : 'ready',
      adminState: s.adminState,
      healthy: s.healthy,
      ejectedUntil: s.ejectedUntil > now ? new Date(s.ejectedUntil).toISOString() : null,
      inflight: s.inflight,
      attempts: s.attempts,
      failedAttempts: s.failedAttempts
    }))
    const responses: Record<string, number> = {}
    upstream.responses.forEach((n, i) => { if (i > 0) responses[`${i}xx`] = n })
    return {
      name: upstream.name,
      balance: upstream.options.balance,
      ready: servers.filter(s => s.state === 'ready').length,
      retries: upstream.retries,
      queueTimeouts: upstream.queueTimeouts,
      refused: Object.fromEntries(upstream.refused),
      responses,
      servers
    }
  })
}
