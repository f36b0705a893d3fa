/**
 * The primary cache key (RFC 9111 §2): the upstream group, the host and the target (path with
 * query) exactly as the client sent it. The method is left out: GET and HEAD share entries
 * (RFC 9111 §4: a stored GET response can answer HEAD). Vary's secondary key is the store's.
 */
export function primaryKey (upstream: string, host: string, target: string): string {
  return `${upstream}\n${host.toLowerCase()}\n${target}`
}

/** What a purge names: a host (or any host) and a target, matched exactly or as a prefix. */
export interface PurgeMatch {
  host?: string
  target: string
  prefix: boolean
}

/**
 * A purge's URL: "http://host/path?q" names one host, "/path?q" every host. Only the host and
 * the target count; the scheme is ignored, since one entry serves both.
 */
export function purgeMatch (url: string, prefix: boolean): PurgeMatch | undefined {
  if (url.startsWith('/')) return { target: url, prefix }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined
  // The raw target after the authority, as the client sends it (URL would re-encode it).
  const rest = url.slice(url.indexOf('//') + 2)
  const slash = rest.search(/[/?]/)
  const target = slash === -1 ? '/' : (rest[slash] === '?' ? '/' + rest.slice(slash) : rest.slice(slash))
  return { host: parsed.host.toLowerCase(), target, prefix }
}

export function matches (m: PurgeMatch, host: string, target: string): boolean {
  if (m.host !== undefined && m.host !== host) return false
  return m.prefix ? target.startsWith(m.target) : target === m.target
}
