/**
 * Targeted cache-control fields (RFC 9213): `Gatehouse-Cache-Control`, aimed at Gatehouse
 * alone, then `CDN-Cache-Control`, aimed at every CDN; the first with a valid, non-empty value
 * replaces Cache-Control and Expires for this cache (§2.1). Most specific first, as the RFC's
 * own example list is ordered.
 */
export const TARGET_LIST = ['gatehouse-cache-control', 'cdn-cache-control'] as const

/** The field aimed at Gatehouse alone: no other cache reads it, so it is not passed on. */
export const OWN_TARGETED_FIELD = TARGET_LIST[0]

/** Directives whose value is a number of seconds: any other type makes the field invalid. */
const INTEGER_DIRECTIVES = new Set(['max-age', 's-maxage', 'stale-if-error', 'stale-while-revalidate'])

type Directives = Record<string, string | true>

/** The directives of the first valid targeted field in `headers`, as http-cache-semantics keeps them; undefined when none applies. */
export function targetedDirectives (headers: Record<string, string | string[] | undefined>): Directives | undefined {
  for (const name of TARGET_LIST) {
    const value = headers[name]
    if (value === undefined) continue
    const parsed = parseDictionary(Array.isArray(value) ? value.join(', ') : value)
    if (parsed !== undefined && Object.keys(parsed).length > 0) return parsed
  }
  return undefined
}

const KEY = /^[a-z*][a-z0-9_\-.*]*/
const INTEGER = /^-?\d{1,15}(?:\.\d{1,3})?/
const TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/
const BYTES = /^:[A-Za-z0-9+/=]*:/
const BOOLEAN = /^\?[01]/

/**
 * An RFC 8941 Dictionary (§4.2.2), as RFC 9213 §2.2 requires targeted fields to be parsed: a
 * parse failure or a seconds directive that is not an Integer voids the whole field, so that
 * Cache-Control applies instead. Values become strings (true for a bare key); parameters and
 * inner lists are checked for syntax and dropped, as no cache directive uses them.
 */
export function parseDictionary (input: string): Directives | undefined {
  const out: Directives = {}
  let s = input.replace(/^[ \t]+|[ \t]+$/g, '')
  if (s === '') return out
  for (;;) {
    const key = KEY.exec(s)
    if (key === null) return undefined
    s = s.slice(key[0].length)
    let value: string | boolean = true
    let integer = false
    if (s[0] === '=') {
      s = s.slice(1)
      if (s[0] === '(') {
        const rest = innerList(s)
        if (rest === undefined) return undefined
        s = rest
      } else {
        const item = bareItem(s)
        if (item === undefined) return undefined
        value = item.value
        integer = item.integer
        s = item.rest
      }
    }
    const rest = parameters(s)
    if (rest === undefined) return undefined
    s = rest
    if (INTEGER_DIRECTIVES.has(key[0]) && !integer) return undefined
    // `?0` is a directive turned off: as if absent.
    if (value === false) delete out[key[0]]
    else out[key[0]] = value
    s = s.replace(/^[ \t]+/, '')
    if (s === '') return out
    if (s[0] !== ',') return undefined
    s = s.slice(1).replace(/^[ \t]+/, '')
    if (s === '') return undefined
  }
}

function bareItem (s: string): { value: string | boolean, integer: boolean, rest: string } | undefined {
  if (s[0] === '"') {
    let i = 1
    let value = ''
    for (; i < s.length && s[i] !== '"'; i++) {
      const c = s.charCodeAt(i)
      if (c < 0x20 || c > 0x7e) return undefined
      if (s[i] === '\\') {
        i++
        if (s[i] !== '"' && s[i] !== '\\') return undefined
      }
      value += s[i]
    }
    if (i >= s.length) return undefined
    return { value, integer: false, rest: s.slice(i + 1) }
  }
  for (const re of [INTEGER, TOKEN, BYTES, BOOLEAN]) {
    const m = re.exec(s)
    if (m === null) continue
    if (re === BOOLEAN) return { value: m[0] === '?1', integer: false, rest: s.slice(2) }
    return { value: m[0], integer: re === INTEGER && !m[0].includes('.') && !m[0].startsWith('-'), rest: s.slice(m[0].length) }
  }
  return undefined
}

function parameters (s: string): string | undefined {
  while (s[0] === ';') {
    s = s.slice(1).replace(/^ +/, '')
    const key = KEY.exec(s)
    if (key === null) return undefined
    s = s.slice(key[0].length)
    if (s[0] === '=') {
      const item = bareItem(s.slice(1))
      if (item === undefined) return undefined
      s = item.rest
    }
  }
  return s
}

function innerList (s: string): string | undefined {
  s = s.slice(1)
  for (;;) {
    s = s.replace(/^ +/, '')
    if (s[0] === ')') return parameters(s.slice(1))
    const item = bareItem(s)
    if (item === undefined) return undefined
    const rest = parameters(item.rest)
    if (rest === undefined) return undefined
    if (rest[0] !== ' ' && rest[0] !== ')') return undefined
    s = rest
  }
}
