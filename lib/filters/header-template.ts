/** What a header value or a redirect target may name; a Fastify request has all of it. */
export interface TemplateSource {
  /** The request's host (Host, or X-Forwarded-Host under trustProxy), port included. */
  host: string
  /** The request target: path and query. */
  url: string
  /** The client address (request.ip: the peer, or X-Forwarded-For under trustProxy). */
  ip: string
  requestId: string
}

export type Template = (source: TemplateSource) => string

const PLACEHOLDERS: Record<string, (s: TemplateSource) => string> = {
  host: s => s.host,
  path: s => {
    const q = s.url.indexOf('?')
    return q === -1 ? s.url : s.url.slice(0, q)
  },
  query: s => {
    const q = s.url.indexOf('?')
    return q === -1 ? '' : s.url.slice(q)
  },
  clientIp: s => s.ip,
  requestId: s => s.requestId
}

export const PLACEHOLDER_NAMES = Object.keys(PLACEHOLDERS).map(n => `{${n}}`)

const PLACEHOLDER = /\{([^{}]*)\}/g

/** The placeholders of `text` that are not known, e.g. `{hots}`; checked at boot. */
export function unknownPlaceholders (text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map(m => m[1]).filter(n => !(n in PLACEHOLDERS)).map(n => `{${n}}`)
}

/**
 * A template compiled once, at boot, into its literal parts and getters, so that a request
 * pays one concatenation; a value with no placeholder is a constant.
 */
export function compileTemplate (text: string): Template {
  const parts: Array<string | ((s: TemplateSource) => string)> = []
  let at = 0
  for (const m of text.matchAll(PLACEHOLDER)) {
    const get = PLACEHOLDERS[m[1]]
    if (get === undefined) continue
    if (m.index > at) parts.push(text.slice(at, m.index))
    parts.push(get)
    at = m.index + m[0].length
  }
  if (at < text.length) parts.push(text.slice(at))
  if (parts.every(p => typeof p === 'string')) return () => text
  return source => {
    let out = ''
    for (const p of parts) out += typeof p === 'string' ? p : p(source)
    return out
  }
}

// A scheme (`https:`) or a scheme-relative start (`//`, or `/\`, which browsers read as `//`).
const NAMES_HOST = /^(?:[a-z][a-z0-9+.-]*:|[/\\]{2})/i
const LEADING_SLASHES = /^[/\\]{2,}/

/**
 * A redirect target: a template that does not itself name a host (no scheme, no `//` of its
 * own) never yields one. A request path substituted at its start could otherwise make it
 * scheme-relative, `{path}` of `//evil.example` sending the client to evil.example; the run
 * of slashes and backslashes that starts it is collapsed to one slash, as nginx's
 * merge_slashes does to the path it matched.
 */
export function compileLocation (text: string): Template {
  const build = compileTemplate(text)
  if (NAMES_HOST.test(text)) return build
  return source => {
    const out = build(source)
    return LEADING_SLASHES.test(out) ? out.replace(LEADING_SLASHES, '/') : out
  }
}
