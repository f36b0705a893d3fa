import { Backend, type AdminState } from './backend'
import type { ServerOptions } from '../config'

export interface ReadyServers {
  primary: readonly Backend[]
  backup: readonly Backend[]
}

export interface PassiveOptions { maxFails: number, failTimeout: number, maxEjectionPercent: number }

/** The group settings a BackendSet reads: passive ejection, and the slow start of servers that set none. */
export interface SetOptions { passive: PassiveOptions, slowStart: number }

/**
 * The servers of one upstream and their readiness: healthy (active checks), ejected
 * (passive), draining (removed by a reload). The only place that decides which servers
 * may take a request. Ready lists are cached and rebuilt only after a state change or
 * when an ejection runs out, so a selection costs no allocation on the hot path.
 */
export class BackendSet {
  private servers: Backend[] = []
  private cache: ReadyServers = { primary: [], backup: [] }
  private dirty = true
  /** Earliest time at which an ejected server becomes ready again (for the cache). */
  private recheckAt = Infinity

  private passive: PassiveOptions

  /** `clock` is Date.now unless a test gives a fake one; every time this set compares comes from it. */
  constructor (servers: readonly ServerOptions[], options: SetOptions, readonly clock: () => number = Date.now) {
    this.passive = options.passive
    // The servers a gateway starts with take their full weight at once: HAProxy never applies
    // slowstart at start either, since every server would ramp up together for nothing.
    this.servers = servers.map(opts => {
      const backend = new Backend(opts)
      backend.configure(opts, options.slowStart)
      return backend
    })
  }

  all (): readonly Backend[] {
    return this.servers
  }

  get (id: string): Backend | undefined {
    return this.servers.find(s => s.id === id)
  }

  ready (now: number): ReadyServers {
    if (this.dirty || now >= this.recheckAt) this.rebuild(now)
    return this.cache
  }

  /**
   * Replaces the server list. A server whose id and url are unchanged keeps its object
   * and so its health, ejection and in-flight count (as Pingora's Backends::do_update
   * does); its weight and backup flag follow the new config. Servers no longer listed
   * are marked draining and returned so that the caller can release their pools once
   * their in-flight requests have finished. A server added goes through its slow start; one
   * kept keeps its slow start where it is.
   */
  update (servers: readonly ServerOptions[], options: SetOptions): { added: Backend[], removed: Backend[] } {
    this.passive = options.passive
    const now = this.clock()
    const old = new Map(this.servers.map(s => [s.id, s]))
    const added: Backend[] = []
    const next = servers.map(opts => {
      const existing = old.get(opts.id)
      if (existing !== undefined && existing.url === opts.url) {
        old.delete(opts.id)
        existing.configure(opts, options.slowStart)
        return existing
      }
      const backend = new Backend(opts)
      backend.configure(opts, options.slowStart)
      backend.startWarming(now)
      added.push(backend)
      return backend
    })
    const removed = [...old.values()]
    for (const b of removed) b.draining = true
    this.servers = next
    this.markChanged()
    return { added, removed }
  }

  markChanged (): void {
    this.dirty = true
  }

  /**
   * The operator's state for a server (set through the admin API). Returns the state before. A
   * server leaving maint in a group with health checks comes back unhealthy, so that it takes
   * traffic only once its checks pass again, as a new server does (HAProxy does the same).
   */
  setAdminState (backend: Backend, state: AdminState, checked: boolean): AdminState {
    const before = backend.adminState
    backend.adminState = state
    if (before === 'maint' && state !== 'maint' && checked) backend.healthy = false
    if (before !== 'ready' && state === 'ready' && backend.healthy) backend.startWarming(this.clock())
    this.markChanged()
    return before
  }

  /** The active checks' verdict on a server; one that comes back goes through its slow start. */
  setHealthy (backend: Backend, healthy: boolean): void {
    if (healthy && !backend.healthy) backend.startWarming(this.clock())
    backend.healthy = healthy
    this.markChanged()
  }

  /** A failed attempt (refused, reset, timed out). Returns true when it ejected the server. */
  recordFailure (backend: Backend, now: number): boolean {
    const { maxFails, failTimeout } = this.passive
    if (backend.trialInFlight) {
      backend.trialInFlight = false
      backend.failures = []
      this.markChanged()
      // The trial after an ejection failed: straight back out, as nginx does, unless the
      // ejection limit now says otherwise; then the server is simply back in service.
      backend.ejectedUntil = this.mayEject(backend, now) ? now + failTimeout : 0
      return backend.ejectedUntil !== 0
    }
    if (maxFails === 0) return false
    const failures = backend.failures
    while (failures.length > 0 && failures[0] <= now - failTimeout) failures.shift()
    // At the ejection limit failures go on being counted, the oldest dropped, as Envoy does.
    if (failures.length >= maxFails) failures.shift()
    failures.push(now)
    if (failures.length < maxFails || !this.mayEject(backend, now)) return false
    backend.failures = []
    backend.ejectedUntil = now + failTimeout
    this.markChanged()
    return true
  }

  /**
   * Another process serving the same machine ejected the server until `until` (a Date.now()
   * time): out here too, within this set's own ejection limit. True when it took effect.
   */
  ejectUntil (backend: Backend, until: number, now: number): boolean {
    if (backend.ejectedUntil > now || until <= now || !this.mayEject(backend, now)) return false
    backend.failures = []
    backend.ejectedUntil = until
    this.markChanged()
    return true
  }

  /** An attempt got a response: a trial after ejection succeeded, so the server is back for good, through its slow start. */
  recordSuccess (backend: Backend): void {
    if (backend.trialInFlight || backend.ejectedUntil !== 0) {
      backend.trialInFlight = false
      backend.ejectedUntil = 0
      backend.startWarming(this.clock())
      this.markChanged()
    }
    if (backend.failures.length > 0) backend.failures = []
  }

  /** Called when a server is chosen: a server that was ejected takes only this one trial request. */
  markChosen (backend: Backend): void {
    if (backend.ejectedUntil !== 0) {
      backend.trialInFlight = true
      this.markChanged()
    }
  }

  /**
   * Whether passive ejection may take `backend` out now: Envoy's max_ejection_percent, counted
   * among the servers of its kind (primaries apart from backups), rounded down; and below 100
   * percent never the last of them still in service, whatever else took the others out (active
   * checks, drain). nginx never marks a single-server group down for the same reason: with
   * nowhere else to go, ejecting it turns a few lost connections into failTimeout of 503s.
   */
  private mayEject (backend: Backend, now: number): boolean {
    const percent = this.passive.maxEjectionPercent
    let total = 0
    let ejected = 0
    let otherInService = false
    for (const s of this.servers) {
      if (s.backup !== backend.backup || s.draining) continue
      total++
      if (s === backend) continue
      if (s.ejectedUntil > now) ejected++
      else if (s.healthy && s.adminState === 'ready') otherInService = true
    }
    if (ejected + 1 > Math.floor(percent * total / 100)) return false
    return percent === 100 || otherInService
  }

  private rebuild (now: number): void {
    const primary: Backend[] = []
    const backup: Backend[] = []
    let recheckAt = Infinity
    for (const s of this.servers) {
      if (s.isReady(now)) {
        (s.backup ? backup : primary).push(s)
      } else if (s.ejectedUntil > now && s.ejectedUntil < recheckAt && s.healthy && !s.draining && s.adminState === 'ready') {
        recheckAt = s.ejectedUntil
      }
    }
    this.cache = { primary, backup }
    this.recheckAt = recheckAt
    this.dirty = false
  }
}
