/** The parts of a request a hash key can be taken from; a Fastify request fits. */
export interface KeySource {
  ip: string
  url: string
  headers: Record<string, string | string[] | undefined>
}

export type KeyExtractor = (req: KeySource) => string

/** Compiles an upstream's hashKey ("ip", "path", "header:NAME", "cookie:NAME") once, at boot. */
export function compileHashKey (spec: string): KeyExtractor {
  if (spec === 'ip') return req => req.ip
  if (spec === 'path') {
    return req => {
      const q = req.url.indexOf('?')
      return q === -1 ? req.url : req.url.slice(0, q)
    }
  }
  const colon = spec.indexOf(':')
  const kind = spec.slice(0, colon)
  const name = spec.slice(colon + 1).toLowerCase()
  if (kind === 'header') {
    return req => {
      const value = req.headers[name]
      return Array.isArray(value) ? value.join(',') : (value ?? '')
    }
  }
  if (kind === 'cookie') {
    const cookieName = spec.slice(colon + 1)
    return req => cookieValue(req.headers.cookie, cookieName)
  }
  throw new TypeError(`unknown hash key "${spec}"`)
}

// Only one cookie is needed, so scanning the header beats parsing all of it.
function cookieValue (header: string | string[] | undefined, name: string): string {
  if (typeof header !== 'string') return ''
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return ''
}
