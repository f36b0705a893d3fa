import { parse as parseQuery } from 'node:querystring'
import { decodeCookieValue } from '../upstreams/sticky-cookie'
import type { IncomingHttpHeaders } from 'node:http'
import type { GatewayRoute, MatchValue } from '../config'
import { anchored } from '../config/normalize/match'
import { hostPattern } from '../http/route-table'

/**
 * A route's header, cookie and query conditions (and its host, when it has both: see
 * match-strategy.ts), compiled once, and how they are tested against a request. The router
 * calls `test` only at the paths where some route has conditions.
 */
export interface MatchSpec {
  /** The config route, for its index in error messages and the specificity's last key. */
  index: number
  /** [conditions, exact ones, regex ones]: compared in that order, more first (then config order). */
  rank: [number, number, number]
  test (request: RequestView): boolean
}

/** What one routing decision reads of a request, parsed at most once whatever the number of routes tried. */
export class RequestView {
  private cookies?: Record<string, string>
  private query?: Record<string, string | string[] | undefined>

  constructor (readonly headers: IncomingHttpHeaders, private readonly url: string) {}

  header (name: string): string | undefined {
    const v = this.headers[name]
    // Repeated fields as the backend will read them: Node joins them with ", " (set-cookie aside, never sent by a client).
    return Array.isArray(v) ? v.join(', ') : v
  }

  cookie (name: string): string | undefined {
    if (this.cookies === undefined) {
      const header = this.headers.cookie
      this.cookies = header === undefined ? {} : parseCookieHeader(header)
    }
    const cookies = this.cookies
    return Object.hasOwn(cookies, name) ? cookies[name] : undefined
  }

  /** Every value of a query parameter (`?a=1&a=2`), percent-decoded. */
  param (name: string): string[] | undefined {
    if (this.query === undefined) {
      const q = this.url.indexOf('?')
      this.query = q === -1 ? {} : parseQuery(this.url.slice(q + 1))
    }
    if (!Object.hasOwn(this.query, name)) return undefined
    const v = this.query[name]
    return v === undefined ? undefined : Array.isArray(v) ? v : [v]
  }
}

type Check = (view: RequestView) => boolean

export function compileMatch (route: GatewayRoute): MatchSpec | undefined {
  const c = route.conditions
  if (c === undefined) return undefined
  const checks: Check[] = []
  let exact = 0
  let regex = 0
  const count = (value: MatchValue): void => {
    if (typeof value === 'string' || Array.isArray(value)) exact++
    else if ('regex' in value) regex++
  }
  if (route.host !== undefined) {
    // The host is a condition like the others here; a wildcard ranks as a regex does.
    const pattern = hostPattern(route.host)
    checks.push(view => {
      const host = view.headers.host ?? view.header(':authority')
      return host !== undefined && pattern.test(host)
    })
    if (route.host.startsWith('*.')) regex++
    else exact++
  }
  for (const [name, value] of Object.entries(c.headers ?? {})) {
    const test = valueTest(value)
    checks.push(view => test(view.header(name)))
    count(value)
  }
  for (const [name, value] of Object.entries(c.cookies ?? {})) {
    const test = valueTest(value)
    checks.push(view => test(view.cookie(name)))
    count(value)
  }
  for (const [name, value] of Object.entries(c.query ?? {})) {
    const test = valueTest(value)
    // A parameter given more than once holds when any of its values does.
    checks.push(view => {
      const values = view.param(name)
      if (values === undefined) return test(undefined)
      return values.some(v => test(v))
    })
    count(value)
  }
  return {
    index: route.index,
    rank: [checks.length, exact, regex],
    test: view => checks.every(check => check(view))
  }
}

function valueTest (value: MatchValue): (actual: string | undefined) => boolean {
  if (typeof value === 'string') return actual => actual === value
  if (Array.isArray(value)) {
    const set = new Set(value)
    return actual => actual !== undefined && set.has(actual)
  }
  if ('regex' in value) {
    const re = new RegExp(anchored(value.regex))
    return actual => actual !== undefined && re.test(actual)
  }
  const present = value.present
  return actual => (actual !== undefined) === present
}

/** Most specific first: more conditions, then more exact ones, then more regexes, then config order. */
export function bySpecificity (a: MatchSpec, b: MatchSpec): number {
  for (let i = 0; i < 3; i++) if (a.rank[i] !== b.rank[i]) return b.rank[i] - a.rank[i]
  return a.index - b.index
}

/**
 * name → value of a Cookie header, the first of a repeated name winning (as the cookie package
 * does). Not @fastify/cookie's parse: it works only once that plugin has loaded its ESM module,
 * and the router may call this before.
 */
function parseCookieHeader (header: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null)
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    const name = part.slice(0, eq).trim()
    if (name !== '' && !(name in out)) out[name] = decodeCookieValue(part.slice(eq + 1).trim())
  }
  return out
}
