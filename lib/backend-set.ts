import { Backend, type AdminState } from './backend'
import type { ServerOptions } from './config'

export interface ReadyServers {
  primary: readonly Backend[]
  backup: readonly Backend[]
}

export interface PassiveOptions { maxFails: number, failTimeout: number }

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

  constructor (servers: readonly ServerOptions[], private passive: PassiveOptions) {
    this.update(servers, passive)
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
   * their in-flight requests have finished.
   */
  update (servers: readonly ServerOptions[], passive: PassiveOptions): { added: Backend[], removed: Backend[] } {
    this.passive = passive
    const old = new Map(this.servers.map(s => [s.id, s]))
    const added: Backend[] = []
    const next = servers.map(opts => {
      const existing = old.get(opts.id)
      if (existing !== undefined && existing.url === opts.url) {
        old.delete(opts.id)
        existing.weight = opts.weight
        existing.backup = opts.backup
        return existing
      }
      const backend = new Backend(opts)
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
   * The operator's state for a server (admin API, issue 13). Returns the state before. A
   * server leaving maint in a group with health checks comes back unhealthy, so that it takes
   * traffic only once its checks pass again, as a new server does (HAProxy does the same).
   */
  setAdminState (backend: Backend, state: AdminState, checked: boolean): AdminState {
    const before = backend.adminState
    backend.adminState = state
    if (before === 'maint' && state !== 'maint' && checked) backend.healthy = false
    this.markChanged()
    return before
  }

  /** A failed attempt (refused, reset, timed out). Returns true when it ejected the server. */
  recordFailure (backend: Backend, now: number): boolean {
    const { maxFails, failTimeout } = this.passive
    if (backend.trialInFlight) {
      // The trial after an ejection failed: straight back out, as nginx does.
      backend.trialInFlight = false
      backend.ejectedUntil = now + failTimeout
      backend.failures = []
      this.markChanged()
      return true
    }
    if (maxFails === 0) return false
    const failures = backend.failures
    while (failures.length > 0 && failures[0] <= now - failTimeout) failures.shift()
    failures.push(now)
    if (failures.length < maxFails) return false
    backend.failures = []
    backend.ejectedUntil = now + failTimeout
    this.markChanged()
    return true
  }

  /** An attempt got a response: a trial after ejection succeeded, so the server is back for good. */
  recordSuccess (backend: Backend): void {
    if (backend.trialInFlight || backend.ejectedUntil !== 0) {
      backend.trialInFlight = false
      backend.ejectedUntil = 0
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
