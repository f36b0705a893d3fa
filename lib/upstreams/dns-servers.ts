import type { ServerOptions } from '../config'
import { DNS_RETRY_INTERVAL, MIN_RESOLVE_INTERVAL } from '../config/defaults'
import type { LookupFn } from './dns-lookup'
import type { UpstreamRegistry } from './registry'

export interface DnsServersOptions {
  lookup: LookupFn
  /** How long an address that left the DNS answer may keep its in-flight requests (config `drainTimeout`). */
  drainTimeout: () => number
  log: { info (obj: object, msg: string): void, warn (obj: object, msg: string): void }
}

/** One server named for DNS (`resolve`), in one group, and what its name last resolved to. */
interface Name {
  upstream: string
  server: ServerOptions
  hostname: string
  timer: NodeJS.Timeout | undefined
  /** The last good answer; undefined before the first. */
  addresses: string[] | undefined
  /** A lookup failed and has not succeeded since: logged once, when it started. */
  failing: boolean
  /** Servers (by id) whose address left the answer, draining until this deadline. */
  draining: Map<string, number>
  stopped: boolean
}

// How often draining servers are looked at: requests end in lib/proxy/attempt.ts, which has no event to wait on.
const DRAIN_POLL_MS = 50

/**
 * Servers from DNS, as nginx's `server ... resolve`, HAProxy's `server-template` with
 * `resolvers` and Envoy's STRICT_DNS clusters do: a server whose url names a host and that
 * has `resolve` stands for one server per A/AAAA record, `id@address`, reached at the
 * address with the name as its Host and TLS server name. Each name is asked again when its
 * records' TTL runs out, at least every 1 s and at most every `resolveInterval`. An address
 * that appears is added (through its health checks first, where the group has them, as a
 * server added at run time is); one that goes is drained, as a runtime removal is: no new
 * requests, and it leaves once its in-flight ones finish or `drainTimeout` passes. A failed
 * lookup keeps the last good addresses (nginx and HAProxy do too), logged once until a
 * lookup succeeds again.
 */
export class DnsServers {
  private readonly names = new Map<string, Name>()
  private drainTimer: NodeJS.Timeout | undefined
  private closed = false
  private readonly onUpdate = (): void => { this.sync().catch(() => {}) }

  constructor (private readonly registry: UpstreamRegistry, private readonly opts: DnsServersOptions) {
    registry.on('update', this.onUpdate)
  }

  /** Starts on every name of the groups now; resolves once each has had its first answer or failure. */
  async start (): Promise<void> {
    await this.sync()
  }

  close (): void {
    this.closed = true
    this.registry.removeListener('update', this.onUpdate)
    for (const n of this.names.values()) this.stop(n)
    this.names.clear()
    clearInterval(this.drainTimer)
  }

  /** Follows reloads and runtime changes: names that appear are resolved, names that went are forgotten. */
  private async sync (): Promise<void> {
    if (this.closed) return
    const wanted = new Set<string>()
    const first: Array<Promise<void>> = []
    for (const upstream of this.registry.all()) {
      for (const server of upstream.options.servers) {
        if (server.resolve !== true) continue
        const key = `${upstream.name}\0${server.id}\0${server.url}`
        wanted.add(key)
        const known = this.names.get(key)
        if (known !== undefined) {
          // A reload or a runtime change may give the name new settings (weight, backup, slow
          // start): its addresses take them now, not at the next answer.
          if (JSON.stringify(known.server) !== JSON.stringify(server)) {
            known.server = server
            if (known.addresses !== undefined) this.apply(known, known.addresses)
          }
          continue
        }
        const name: Name = { upstream: upstream.name, server, hostname: new URL(server.url).hostname, timer: undefined, addresses: undefined, failing: false, draining: new Map(), stopped: false }
        this.names.set(key, name)
        first.push(this.resolve(name))
      }
    }
    for (const [key, name] of this.names) {
      if (wanted.has(key)) continue
      this.names.delete(key)
      this.stop(name)
      // Its addresses are no one's now: a server of the same id that comes back starts from its name.
      this.registry.get(name.upstream)?.resolved.delete(name.server.id)
    }
    await Promise.all(first)
  }

  private stop (name: Name): void {
    name.stopped = true
    clearTimeout(name.timer)
  }

  private async resolve (name: Name): Promise<void> {
    const upstream = this.registry.get(name.upstream)
    if (upstream === undefined || name.stopped) return
    let next: number
    try {
      const { addresses, ttl } = await this.opts.lookup(name.hostname)
      if (name.stopped) return
      if (name.failing) {
        name.failing = false
        this.opts.log.info({ upstream: name.upstream, server: name.server.id, name: name.hostname, addresses }, 'DNS lookup succeeds again')
      }
      this.apply(name, addresses)
      const interval = upstream.options.resolveInterval
      next = ttl === undefined ? interval : Math.min(interval, Math.max(MIN_RESOLVE_INTERVAL, ttl * 1000))
    } catch (err) {
      if (name.stopped) return
      if (!name.failing) {
        name.failing = true
        const e = err as NodeJS.ErrnoException
        this.opts.log.warn({ upstream: name.upstream, server: name.server.id, name: name.hostname, code: e.code, error: e.message, kept: name.addresses ?? [] },
          'DNS lookup failed: the last addresses stay in service until a lookup succeeds')
      }
      next = Math.min(upstream.options.resolveInterval, DNS_RETRY_INTERVAL)
    }
    name.timer = setTimeout(() => { this.resolve(name).catch(() => {}) }, next)
    // Unref'd: pending lookups alone must not keep the process alive.
    name.timer.unref()
  }

  /** Makes the group's servers for this name match the answer: new addresses added, vanished ones drained. */
  private apply (name: Name, addresses: string[]): void {
    const upstream = this.registry.get(name.upstream)
    if (upstream === undefined) return
    name.addresses = addresses
    const before = upstream.resolved.get(name.server.id) ?? []
    const current = new Set(addresses.map(a => serverId(name.server, a)))
    const list: ServerOptions[] = addresses.map(a => serverFor(name.server, a, name.hostname))
    const leaving: string[] = []
    for (const s of before) {
      if (current.has(s.id)) continue
      // Still listed while it drains, after the addresses of the answer.
      list.push(s)
      if (!name.draining.has(s.id)) {
        name.draining.set(s.id, Date.now() + this.opts.drainTimeout())
        leaving.push(s.id)
      }
    }
    const back: string[] = []
    for (const id of [...name.draining.keys()]) {
      if (!current.has(id)) continue
      name.draining.delete(id)
      back.push(id)
    }
    const added = list.filter(s => !before.some(b => b.id === s.id)).map(s => s.id)
    upstream.resolved.set(name.server.id, list)
    if (before.length === 0 || JSON.stringify(list) !== JSON.stringify(before)) this.registry.setServers(name.upstream, upstream.options.servers)
    for (const id of leaving) {
      const backend = upstream.backends.get(id)
      if (backend !== undefined) upstream.backends.setAdminState(backend, 'drain', false)
    }
    for (const id of back) {
      const backend = upstream.backends.get(id)
      if (backend !== undefined && backend.adminState === 'drain') upstream.backends.setAdminState(backend, 'ready', upstream.options.healthCheck !== undefined)
    }
    if (leaving.length > 0 || back.length > 0) this.registry.notify()
    if (added.length > 0 || leaving.length > 0 || back.length > 0) {
      this.opts.log.info({ upstream: name.upstream, server: name.server.id, name: name.hostname, addresses, added, draining: leaving, back }, 'servers from DNS changed')
    }
    if (name.draining.size > 0) this.watchDrains()
  }

  private watchDrains (): void {
    if (this.drainTimer !== undefined) return
    this.drainTimer = setInterval(() => this.finishDrains(), DRAIN_POLL_MS)
    this.drainTimer.unref()
  }

  /** Takes out each draining server whose in-flight requests (tunnels included) have finished, or whose drainTimeout passed. */
  private finishDrains (): void {
    let any = false
    const now = Date.now()
    for (const name of this.names.values()) {
      if (name.draining.size === 0) continue
      any = true
      const upstream = this.registry.get(name.upstream)
      if (upstream === undefined) continue
      const gone: string[] = []
      for (const [id, deadline] of name.draining) {
        const backend = upstream.backends.get(id)
        // A reload resets runtime states to ready; a vanished address stays drained.
        if (backend !== undefined && backend.adminState !== 'drain' && backend.inflight > 0) upstream.backends.setAdminState(backend, 'drain', false)
        if (backend === undefined || backend.inflight === 0 || now >= deadline) gone.push(id)
      }
      if (gone.length === 0) continue
      for (const id of gone) name.draining.delete(id)
      upstream.resolved.set(name.server.id, (upstream.resolved.get(name.server.id) ?? []).filter(s => !gone.includes(s.id)))
      this.registry.setServers(name.upstream, upstream.options.servers)
      this.opts.log.info({ upstream: name.upstream, server: name.server.id, removed: gone }, 'servers from DNS removed after draining')
    }
    if (!any) {
      clearInterval(this.drainTimer)
      this.drainTimer = undefined
    }
  }
}

function serverId (template: ServerOptions, address: string): string {
  return `${template.id}@${address}`
}

/** The server one address of a name stands for: the name's settings, reached at the address. */
function serverFor (template: ServerOptions, address: string, hostname: string): ServerOptions {
  const url = new URL(template.url)
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80'
  const host = address.includes(':') ? `[${address}]` : address
  const out: ServerOptions = {
    id: serverId(template, address),
    url: template.url,
    origin: `${url.protocol}//${host}:${port}`,
    weight: template.weight,
    backup: template.backup,
    hostname
  }
  if (template.slowStart !== undefined) out.slowStart = template.slowStart
  return out
}
