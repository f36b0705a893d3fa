type Headers = Record<string, string | string[] | undefined>

/**
 * Whether a client's conditional GET or HEAD is answered 304 from a stored response, RFC 9110
 * §13.1: If-None-Match by weak comparison (§13.1.2); If-Modified-Since only when there is no
 * If-None-Match (§13.1.3), and only against a Last-Modified the response had.
 */
export function notModified (request: Headers, stored: Headers): boolean {
  const inm = one(request['if-none-match'])
  if (inm !== undefined) {
    const etag = one(stored.etag)
    if (etag === undefined) return false
    if (inm.trim() === '*') return true
    return inm.split(',').some(tag => opaque(tag) === opaque(etag))
  }
  const ims = one(request['if-modified-since'])
  const lastModified = one(stored['last-modified'])
  if (ims === undefined || lastModified === undefined) return false
  const since = Date.parse(ims)
  const modified = Date.parse(lastModified)
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since
}

/** The fields a 304 carries when the 200 would have had them (RFC 9110 §15.4.5), and the cache's Age. */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified', 'age']

export function notModifiedHeaders (headers: Headers): Headers {
  const out: Headers = {}
  for (const name of NOT_MODIFIED_FIELDS) if (headers[name] !== undefined) out[name] = headers[name]
  return out
}

function opaque (tag: string): string {
  return tag.trim().replace(/^W\//, '')
}

function one (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v
}
