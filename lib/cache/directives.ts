/**
 * Cache-Control as a map of lowercase directive → value (true when it has none), RFC 9111 §5.2.
 * http-cache-semantics parses the same header for its own rules; the gateway needs a few
 * directives of its own (when a stale answer is allowed) that it does not expose.
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
export function seconds (cc: Map<string, string | true>, name: string): number {
  const v = cc.get(name)
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return 0
  return Number(v) * 1000
}
