/**
 * Cache-Control as a map of lowercase directive → value (true when it has none), RFC 9111 §5.2:
 * directive names are case-insensitive (§5.2), so `No-CaChE` is `no-cache`. Used for the
 * response (as the library's rules read it, see lib/cache/library-view.ts) and the request.
 */
export function cacheControl (value: string | string[] | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>()
  if (value === undefined) return out
  for (const part of String(value).split(',')) {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase()
    if (name === '') continue
    out.set(name, eq === -1 ? true : part.slice(eq + 1).trim().replace(/^"|"$/g, ''))
  }
  return out
}

/** A delta-seconds directive in milliseconds, 0 when absent or malformed. */
export function seconds (cc: Map<string, string | true> | Record<string, string | true>, name: string): number {
  const v = cc instanceof Map ? cc.get(name) : cc[name]
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return 0
  return Number(v) * 1000
}
