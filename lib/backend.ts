import type { ServerOptions } from './config'

/**
 * What an operator set through the admin API (issue 13), as HAProxy's `set server … state`:
 * ready takes requests; drain takes no new ones while in-flight requests and tunnels finish;
 * maint is drain with the health checks stopped too.
 */
export type AdminState = 'ready' | 'drain' | 'maint'
export const ADMIN_STATES: readonly AdminState[] = ['ready', 'drain', 'maint']

/**
 * One server of an upstream group and its live state. The set it belongs to
 * (BackendSet) is the only place that decides whether it may take requests.
 */
export class Backend {
  readonly id: string
  readonly url: string
  readonly origin: string
  weight: number
  backup: boolean

  /** Requests sent to this server whose response has not finished. */
  inflight = 0

  // Active health (lib/health): servers start healthy, as in nginx, HAProxy and Pingora.
  healthy = true

  // Passive health (outlier ejection, nginx's max_fails/fail_timeout).
  /** Times of recent failed attempts, oldest first, at most maxFails of them. */
  failures: number[] = []
  /** While now < ejectedUntil the server takes no requests; 0 when never ejected. */
  ejectedUntil = 0
  /** After an ejection one trial request decides; no other request goes meanwhile. */
  trialInFlight = false

  /** Removed by a reload: takes no new requests; in-flight ones complete. */
  draining = false

  /** Set at run time through the admin API; only BackendSet changes it (setAdminState). */
  adminState: AdminState = 'ready'

  // Counters for the admin API and metrics; read at scrape time, so the hot path only adds.
  /** Attempts sent to this server. */
  attempts = 0
  /** Attempts that failed: refused, reset, timed out. */
  failedAttempts = 0

  constructor (options: ServerOptions) {
    this.id = options.id
    this.url = options.url
    this.origin = options.origin
    this.weight = options.weight
    this.backup = options.backup
  }

  /** Whether a request may be sent now; `now` is Date.now(), passed so one clock read serves a whole selection. */
  isReady (now: number): boolean {
    return this.healthy && !this.draining && this.adminState === 'ready' && !this.trialInFlight && this.ejectedUntil <= now
  }
}
