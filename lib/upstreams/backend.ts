import type { ServerOptions } from '../config'

/**
 * What an operator set through the admin API, as HAProxy's `set server … state`:
 * ready takes requests; drain takes no new ones while in-flight requests and tunnels finish;
 * maint is drain with the health checks stopped too.
 */
export type AdminState = 'ready' | 'drain' | 'maint'
export const ADMIN_STATES: readonly AdminState[] = ['ready', 'drain', 'maint']

/** The share of its weight a server gets the moment its slow start begins (Envoy's min_weight_percent: 10). */
export const MIN_SLOW_START_SHARE = 0.1

/**
 * One server of an upstream group and its live state. The set it belongs to
 * (BackendSet) is the only place that decides whether it may take requests.
 */
export class Backend {
  readonly id: string
  readonly url: string
  readonly origin: string
  /** The connection pool its requests go to (lib/proxy/pool-key.ts): the origin, and its group's TLS settings. */
  poolKey: string
  /** The host name its address was resolved from (servers from DNS): its Host and TLS name; undefined for a server named by its URL. */
  readonly hostname: string | undefined
  /** The PROXY protocol header its connections start with (its group's `proxyProtocol`), health checks' included. */
  proxyProtocol: 'v1' | 'v2' | undefined = undefined
  weight: number
  backup: boolean
  /** Slow start in ms (the server's own, else its group's); 0 is off. */
  slowStart = 0
  /** When the server last came back into service, while its slow start runs; undefined otherwise. */
  warmSince: number | undefined = undefined

  /** Requests sent to this server whose response has not finished. */
  inflight = 0

  // Active health (lib/upstreams/health): servers start healthy, as in nginx, HAProxy and Pingora.
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
    this.poolKey = options.origin
    this.hostname = options.hostname
    this.weight = options.weight
    this.backup = options.backup
  }

  /** Applies a server's settings: its own, or its group's slow start. */
  configure (options: ServerOptions, groupSlowStart: number): void {
    this.weight = options.weight
    this.backup = options.backup
    this.slowStart = options.slowStart ?? groupSlowStart
    if (this.slowStart === 0) this.warmSince = undefined
  }

  /**
   * The weight balancers use: during slow start it grows linearly with the time since the
   * server came back, from MIN_SLOW_START_SHARE of the weight to all of it (Envoy's
   * slow_start_config with aggression 1.0 and its 10% min_weight_percent; HAProxy's slowstart).
   * A plain field read when no slow start runs.
   */
  weightAt (now: number): number {
    if (this.warmSince === undefined) return this.weight
    const share = (now - this.warmSince) / this.slowStart
    if (share >= 1 || this.slowStart === 0) {
      this.warmSince = undefined
      return this.weight
    }
    return this.weight * Math.max(MIN_SLOW_START_SHARE, share)
  }

  /** Starts the slow start, when one is set: the server has just come back into service. */
  startWarming (now: number): void {
    if (this.slowStart > 0) this.warmSince = now
  }

  /** Whether a request may be sent now; `now` is Date.now(), passed so one clock read serves a whole selection. */
  isReady (now: number): boolean {
    return this.healthy && !this.draining && this.adminState === 'ready' && !this.trialInFlight && this.ejectedUntil <= now
  }
}
