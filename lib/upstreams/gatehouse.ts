import type { NormalizedConfig } from '../config'
import type { ReloadSummary, UpstreamRegistry } from './registry'
import type { RuntimeServers } from './runtime-servers'
import type { SplitTable } from '../routing/split-table'

/**
 * `app.gatehouse`: what a running gateway shows its host app and the admin API (the config in
 * force, the upstream registry, reload). Built by plugins/proxy/upstreams.ts; features loaded
 * only when configured add their part by declaration merging (the cache adds `cache`).
 */
export interface Gatehouse {
  /** The config in force (after the last successful reload). */
  config: NormalizedConfig
  registry: UpstreamRegistry
  /**
   * Validates a new config and applies its upstreams in place. Throws a ConfigError and
   * changes nothing when the config is invalid. Route changes need a restart: the summary
   * says so (routesChanged) and a warning is logged.
   */
  reload (config: unknown): ReloadSummary & { routesChanged: boolean, runtimeChangesDropped: string[] }
  /** Servers changed through the admin API since the last reload: a reload makes the file the truth again. */
  runtime: RuntimeServers
  /** The weights of the split routes in force (a reload's, or the admin API's since). */
  splits: SplitTable
  /** Where the admin API listens, once it does (config `admin`). */
  adminUrl?: string
  /** Where the plain-HTTP redirect listener listens, once it does (config `listen.redirectHttp`). */
  redirectUrl?: string
}
