import type { AdminState } from '../upstreams/backend'
import type { NormalizedConfig } from '../config'
import type { UpstreamRegistry } from '../upstreams/registry'
import type { RuntimeChange, RuntimeServers } from '../upstreams/runtime-servers'
import type { DesiredServer } from './fleet-state'

/**
 * What a local change leaves a server at, whole (url, weight, backup, state, removed): a write
 * replaces the server's previous one, so that two changes at once leave one of the two, the
 * same on every instance, never a mix. Undefined when the server is not there to read.
 */
export function desiredAfter (change: RuntimeChange, registry: UpstreamRegistry, config: NormalizedConfig, instance: string): DesiredServer | undefined {
  const backend = registry.get(change.upstream)?.backends.get(change.server)
  if (backend === undefined) return undefined
  const inFile = config.upstreams.get(change.upstream)?.servers.some(s => s.id === change.server) === true
  return {
    upstream: change.upstream,
    server: change.server,
    url: backend.url,
    weight: backend.weight,
    backup: backend.backup,
    state: change.action === 'remove' ? 'drain' : backend.adminState,
    removed: change.action === 'remove',
    added: !inFile,
    instance
  }
}

export type ReconcileResult = 'same' | 'applied' | 'skipped'

/**
 * Brings one local server to its desired state through the same RuntimeServers calls the
 * admin API makes (validated, logged as `admin change`, counted), marked as coming from the
 * fleet so that they are not written back. Compares what is with what should be, so applying
 * the same state twice does nothing, and something under way (a removal draining) is met by a
 * later call. A server this config does not have (its group is gone, or a reload removed a
 * server of the file) is skipped; throws what RuntimeServers throws (the last primary, say).
 */
export function reconcileServer (runtime: RuntimeServers, registry: UpstreamRegistry, desired: DesiredServer): ReconcileResult {
  const by = `fleet:${desired.instance}`
  const upstream = registry.get(desired.upstream)
  if (upstream === undefined) return 'skipped'
  const backend = upstream.backends.get(desired.server)
  const present = backend !== undefined && !backend.draining
  if (desired.removed) {
    if (!present || runtime.isRemoving(backend)) return 'same'
    runtime.remove(desired.upstream, desired.server, by)
    return 'applied'
  }
  if (!present) {
    if (!desired.added || backend !== undefined) return 'skipped'
    runtime.add(desired.upstream, { url: desired.url, id: desired.server, weight: desired.weight, backup: desired.backup }, by)
    if (desired.state !== 'ready') runtime.update(desired.upstream, desired.server, { state: desired.state }, by)
    return 'applied'
  }
  if (desired.added && backend.url !== desired.url) {
    // The same id added with another url elsewhere, later: this one drains out, and the
    // next reconcile adds the shared one once it is gone.
    if (runtime.isRemoving(backend)) return 'same'
    runtime.remove(desired.upstream, desired.server, by)
    return 'applied'
  }
  const patch: { weight?: number, state?: AdminState } = {}
  if (backend.weight !== desired.weight) patch.weight = desired.weight
  // A pending removal is cancelled by a state: the later write kept the server.
  if (backend.adminState !== desired.state || runtime.isRemoving(backend)) patch.state = desired.state
  if (patch.weight === undefined && patch.state === undefined) return 'same'
  runtime.update(desired.upstream, desired.server, patch, by)
  return 'applied'
}
