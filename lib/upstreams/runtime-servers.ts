import Ajv from 'ajv'
import { EventEmitter } from 'node:events'
import { Type } from '@sinclair/typebox'
import type { AdminState, Backend } from './backend'
import { ADMIN_STATES } from './backend'
import { ServerSchema, type ServerConfig } from '../config/schema'
import { serverOptions } from '../config/normalize/upstream'
import { formatAjvErrors } from '../config/format'
import type { UpstreamRegistry } from './registry'
import type { Upstream } from './upstream'
import { AdminBadRequestError, LastPrimaryError, ServerExistsError, UnknownServerError, UnknownUpstreamError } from '../errors'

export const CHANGE_ACTIONS = ['add', 'update', 'remove'] as const
export type ChangeAction = typeof CHANGE_ACTIONS[number]

/** One change made through the admin API: logged once, counted, and listed by the reload that drops it. */
export interface RuntimeChange {
  at: string
  /** The remote address of the request that made it. */
  by: string
  action: ChangeAction
  upstream: string
  server: string
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
}

export interface RuntimeServersOptions {
  /** How long a removal waits for in-flight requests (config `drainTimeout`, read per removal: a reload may change it). */
  drainTimeout: () => number
  /** Called once per change, after it took effect. */
  onChange: (change: RuntimeChange) => void
}

// The same schema as a server in the file, so that a body fails as the file would.
const ajv = new Ajv({ allErrors: true, strict: false, verbose: true })
const validateServer = ajv.compile(ServerSchema)
const PatchSchema = Type.Object({
  weight: Type.Optional(ServerSchema.properties.weight),
  state: Type.Optional(Type.Unsafe<AdminState>({ type: 'string', enum: [...ADMIN_STATES] }))
}, { additionalProperties: false, minProperties: 1 })
const validatePatch = ajv.compile(PatchSchema)

// How often a removal looks at the in-flight count: requests end in lib/proxy/attempt.ts, which has no event to wait on.
const REMOVAL_POLL_MS = 50

/**
 * Servers changed at run time through the admin API, without a reload: added, reweighted, drained, put in maint, removed.
 * Every change goes through the registry as a reload does (so pools and health checks
 * follow), and is kept until the next reload, which makes the file the truth again.
 */
export class RuntimeServers extends EventEmitter<{ change: [RuntimeChange], reset: [] }> {
  private changes: RuntimeChange[] = []
  /** Changes made since start, by action: what /metrics counts. */
  readonly counts: Record<ChangeAction, number> = { add: 0, update: 0, remove: 0 }
  private readonly removals = new Map<Backend, NodeJS.Timeout>()

  constructor (private readonly registry: UpstreamRegistry, private readonly opts: RuntimeServersOptions) {
    super()
  }

  /** POST /upstreams/NAME/servers. */
  add (name: string, body: unknown, by: string): Backend {
    const upstream = this.group(name)
    if (!validateServer(body)) throw new AdminBadRequestError(bodyErrors(validateServer.errors, body))
    const server = serverOptions(body as ServerConfig, upstream.options.resolve)
    if (upstream.backends.get(server.id) !== undefined) throw new ServerExistsError(name, server.id)
    this.registry.setServers(name, [...upstream.options.servers, server])
    const backend = upstream.backends.get(server.id) as Backend
    this.record({ by, action: 'add', upstream: name, server: server.id, before: null, after: { url: server.url, weight: server.weight, backup: server.backup } })
    return backend
  }

  /** PATCH /upstreams/NAME/servers/ID: weight and state. `ready` also cancels a pending removal. */
  update (name: string, id: string, body: unknown, by: string): Backend {
    const upstream = this.group(name)
    const backend = this.server(upstream, id)
    if (!validatePatch(body)) throw new AdminBadRequestError(bodyErrors(validatePatch.errors, body))
    const patch = body as { weight?: number, state?: AdminState }
    const before = { weight: backend.weight, state: backend.adminState }
    if (patch.weight !== undefined && patch.weight !== backend.weight) {
      this.registry.setServers(name, upstream.options.servers.map(s => s.id === id ? { ...s, weight: patch.weight as number } : s))
    }
    if (patch.state !== undefined) {
      this.cancelRemoval(backend)
      upstream.backends.setAdminState(backend, patch.state, upstream.options.healthCheck !== undefined)
      this.registry.notify()
    }
    this.record({ by, action: 'update', upstream: name, server: id, before, after: { weight: backend.weight, state: backend.adminState } })
    return backend
  }

  /**
   * DELETE /upstreams/NAME/servers/ID: drains the server, then takes it out of the group once
   * its in-flight requests (tunnels included) reach zero or drainTimeout passes.
   */
  remove (name: string, id: string, by: string): Backend {
    const upstream = this.group(name)
    const backend = this.server(upstream, id)
    if (this.removals.has(backend)) return backend
    if (this.wouldLeaveNoPrimary(upstream, backend)) throw new LastPrimaryError(name)
    const before = { state: backend.adminState }
    upstream.backends.setAdminState(backend, 'drain', false)
    this.registry.notify()
    const deadline = Date.now() + this.opts.drainTimeout()
    const timer = setInterval(() => {
      if (backend.inflight > 0 && Date.now() < deadline) return
      this.cancelRemoval(backend)
      // A reload meanwhile may have replaced the group or dropped the server already.
      if (this.registry.get(name) !== upstream || upstream.backends.get(id) !== backend) return
      this.registry.setServers(name, upstream.options.servers.filter(s => s.id !== id))
    }, REMOVAL_POLL_MS)
    // Unref'd: a pending removal alone must not keep the process alive.
    timer.unref()
    this.removals.set(backend, timer)
    this.record({ by, action: 'remove', upstream: name, server: id, before, after: null })
    return backend
  }

  /** Whether the server is draining towards its removal. */
  isRemoving (backend: Backend): boolean {
    return this.removals.has(backend)
  }

  /** The changes made since start or the last reload, oldest first. */
  list (): readonly RuntimeChange[] {
    return this.changes
  }

  /**
   * A reload makes the file the truth again, as HAProxy's runtime changes are lost on reload:
   * pending removals stop and every server goes back to ready (the new config then restores
   * the file's servers and weights). Returns the changes dropped, one line each, for its log.
   */
  reset (): string[] {
    for (const backend of [...this.removals.keys()]) this.cancelRemoval(backend)
    for (const upstream of this.registry.all()) {
      for (const b of upstream.backends.all()) {
        if (b.adminState !== 'ready') upstream.backends.setAdminState(b, 'ready', upstream.options.healthCheck !== undefined)
      }
    }
    const dropped = this.changes.map(describe)
    this.changes = []
    // Fleet sync re-applies the shared runtime state once the reload's config is in place.
    this.emit('reset')
    return dropped
  }

  close (): void {
    for (const backend of [...this.removals.keys()]) this.cancelRemoval(backend)
  }

  private record (change: Omit<RuntimeChange, 'at'>): void {
    const full = { at: new Date().toISOString(), ...change }
    this.changes.push(full)
    this.counts[change.action]++
    this.opts.onChange(full)
    // Fleet sync (plugins/ops/fleet-sync.ts) listens here.
    this.emit('change', full)
  }

  private cancelRemoval (backend: Backend): void {
    clearInterval(this.removals.get(backend))
    this.removals.delete(backend)
  }

  private group (name: string): Upstream {
    const upstream = this.registry.get(name)
    if (upstream === undefined) throw new UnknownUpstreamError(name)
    return upstream
  }

  private server (upstream: Upstream, id: string): Backend {
    const backend = upstream.backends.get(id)
    if (backend === undefined || backend.draining) throw new UnknownServerError(id, upstream.name)
    return backend
  }

  // The file's rule (lib/config/normalize/upstream.ts) holds at run time too: the list keeps one primary.
  // Draining every primary stays allowed: that is how an operator sends a group to its backups.
  private wouldLeaveNoPrimary (upstream: Upstream, leaving: Backend): boolean {
    if (leaving.backup) return false
    return !upstream.backends.all().some(b => b !== leaving && !b.backup && !b.draining && !this.removals.has(b))
  }
}

function bodyErrors (errors: Parameters<typeof formatAjvErrors>[0] | null | undefined, body: unknown): string {
  return formatAjvErrors(errors ?? [], body).map(line => line.replace(/^\(config\)/, '(body)')).join('; ')
}

export function describe (c: RuntimeChange): string {
  return `${c.action} ${c.upstream}/${c.server}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`
}
