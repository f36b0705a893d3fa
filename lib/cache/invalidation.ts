import { primaryKey } from './key'

type Headers = Record<string, string | string[] | undefined>

/**
 * The safe methods (RFC 9110 §9.2.1, and those the IANA method registry marks safe: WebDAV's
 * PROPFIND, REPORT, SEARCH, and QUERY); any other, an unknown extension method included,
 * may change what is stored.
 */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'REPORT', 'SEARCH', 'QUERY'])

export function isUnsafe (method: string): boolean {
  return !SAFE.has(method)
}

/**
 * The primary keys a response to an unsafe request invalidates (RFC 9111 §4.4): none unless
 * it succeeded (2xx or 3xx, so a failed POST leaves the stored GET in use); then its target,
 * and the URLs in Location and Content-Location when they are on the same host (a cache must
 * not let one origin invalidate another's entries).
 */
export function invalidatedKeys (upstream: string, host: string, target: string, status: number, headers: Headers): string[] {
  if (status < 200 || status >= 400) return []
  const keys = [primaryKey(upstream, host, target)]
  for (const name of ['location', 'content-location']) {
    const value = headers[name]
    if (typeof value !== 'string' || value === '') continue
    let url: URL
    try {
      url = new URL(value, `http://${host}${target.startsWith('/') ? target : '/'}`)
    } catch {
      continue
    }
    if (url.host.toLowerCase() !== host.toLowerCase() && url.host.toLowerCase() !== host.toLowerCase().replace(/:80$/, '')) continue
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue
    keys.push(primaryKey(upstream, host, url.pathname + url.search))
  }
  return keys
}
