import type { RouteConfig } from '../schema'
import type { MirrorOptions } from '../types'
import { DEFAULT_MIRROR_MAX_BODY_SIZE, DEFAULT_MIRROR_MAX_IN_FLIGHT, DEFAULT_MIRROR_PERCENT } from '../defaults'
import { parseSize } from '../size'

/**
 * A route's `mirror` with its defaults. The group must exist, and be another than the route's
 * own: a copy sent to the group that serves the request would charge its failures (ejections)
 * to the servers the client depends on, which a mirror must never do. A redirect route sends
 * nothing anywhere, so it has nothing to copy.
 */
export function normalizeMirror (index: number, r: RouteConfig, upstreams: ReadonlySet<string>, problems: string[]): MirrorOptions | undefined {
  const m = r.mirror
  if (m === undefined) return undefined
  const at = `routes[${index}].mirror`
  if (!upstreams.has(m.upstream)) {
    const known = [...upstreams].map(n => `"${n}"`).join(', ')
    problems.push(`${at}.upstream: unknown upstream "${m.upstream}" (known: ${known})`)
  } else if (routeGroups(r).includes(m.upstream)) {
    problems.push(`${at}.upstream: "${m.upstream}" is the route's own upstream; a mirror goes to another group`)
  }
  if (r.redirect !== undefined) problems.push(`${at}: a redirect route sends no request to copy`)
  return {
    upstream: m.upstream,
    percent: m.percent ?? DEFAULT_MIRROR_PERCENT,
    maxBodySize: m.maxBodySize === undefined ? DEFAULT_MIRROR_MAX_BODY_SIZE : parseSize(m.maxBodySize),
    maxInFlight: m.maxInFlight ?? DEFAULT_MIRROR_MAX_IN_FLIGHT
  }
}

/** The groups a route sends to: its upstream, or each group of its split. */
function routeGroups (r: RouteConfig): string[] {
  if (r.upstream === undefined) return []
  return typeof r.upstream === 'string' ? [r.upstream] : r.upstream.map(t => t.name)
}
