import type { FiltersConfig, GatehouseConfig, HeaderRulesConfig, RouteConfig } from '../schema'
import type { GatewayRoute, RouteFilters } from '../types'
import { DEFAULT_BASIC_AUTH_REALM, DEFAULT_REDIRECT_STATUS } from '../defaults'
import { parseSize } from '../size'
import { bcryptHashProblem } from '../../filters/basic-auth'
import { headerNameProblem, headerValueProblem, type HeaderRules } from '../../filters/header-rules'
import { PLACEHOLDER_NAMES, unknownPlaceholders } from '../../filters/header-template'
import { parseRange } from '../../filters/ip-list'

/**
 * One layer of filters (the top level's, or a route's own), each key normalized; null when
 * the layer turns a filter off (`false`, an empty list), so that a route can switch off a
 * default. A route's key replaces the default's; header rules replace the default's whole.
 */
type Layer = { [K in keyof RouteFilters]?: RouteFilters[K] | null }

export interface RouteDefaults {
  filters: Layer
  requestHeaders?: HeaderRules
  responseHeaders?: HeaderRules
}

/** The top-level filters and header rules, checked once (errors named `filters.allow[1]`, …). */
export function normalizeDefaults (config: GatehouseConfig, problems: string[]): RouteDefaults {
  return {
    filters: normalizeLayer(config.filters, 'filters', problems),
    requestHeaders: normalizeRules(config.requestHeaders, 'requestHeaders', problems),
    responseHeaders: normalizeRules(config.responseHeaders, 'responseHeaders', problems)
  }
}

/** A route's filters, header rules and redirect, over the defaults. */
export function routeFilters (r: RouteConfig, index: number, defaults: RouteDefaults, problems: string[]): Pick<GatewayRoute, 'filters' | 'requestHeaders' | 'responseHeaders' | 'redirect'> {
  const at = `routes[${index}]`
  const own = normalizeLayer(r.filters, `${at}.filters`, problems)
  const merged: RouteFilters = {}
  for (const key of FILTER_KEYS) {
    const value = key in own ? own[key] : defaults.filters[key]
    if (value !== undefined && value !== null) (merged as Record<string, unknown>)[key] = value
  }
  let redirect: GatewayRoute['redirect']
  if (r.redirect !== undefined) {
    templateProblems(r.redirect.to, `${at}.redirect.to`, problems)
    redirect = { to: r.redirect.to, status: r.redirect.status ?? DEFAULT_REDIRECT_STATUS }
  }
  return {
    filters: Object.keys(merged).length === 0 ? undefined : merged,
    requestHeaders: r.requestHeaders !== undefined ? normalizeRules(r.requestHeaders, `${at}.requestHeaders`, problems) : defaults.requestHeaders,
    responseHeaders: r.responseHeaders !== undefined ? normalizeRules(r.responseHeaders, `${at}.responseHeaders`, problems) : defaults.responseHeaders,
    redirect
  }
}

const FILTER_KEYS = ['allow', 'deny', 'methods', 'maxBodySize', 'requireHeaders', 'basicAuth'] as const

function normalizeLayer (f: FiltersConfig | undefined, at: string, problems: string[]): Layer {
  const out: Layer = {}
  if (f === undefined) return out
  if (f.allow !== undefined) out.allow = addresses(f.allow, `${at}.allow`, problems)
  if (f.deny !== undefined) out.deny = addresses(f.deny, `${at}.deny`, problems)
  if (f.methods !== undefined) out.methods = [...f.methods]
  if (f.maxBodySize !== undefined) out.maxBodySize = f.maxBodySize === false ? null : parseSize(f.maxBodySize)
  if (f.requireHeaders !== undefined) {
    const names: string[] = []
    for (const [name, required] of Object.entries(f.requireHeaders)) {
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) problems.push(`${at}.requireHeaders.${name}: not a valid header name`)
      else if (required) names.push(name.toLowerCase())
    }
    out.requireHeaders = names.length === 0 ? null : names
  }
  if (f.basicAuth !== undefined) {
    if (f.basicAuth === false) {
      out.basicAuth = null
    } else {
      for (const [user, hash] of Object.entries(f.basicAuth.users)) {
        // RFC 7617 §2: the user-id cannot contain a colon (the password starts after the first one).
        if (user === '' || user.includes(':')) problems.push(`${at}.basicAuth.users.${user}: a user name must be non-empty and without ":"`)
        const problem = bcryptHashProblem(hash)
        if (problem !== undefined) problems.push(`${at}.basicAuth.users.${user}: ${problem}`)
      }
      out.basicAuth = {
        realm: f.basicAuth.realm ?? DEFAULT_BASIC_AUTH_REALM,
        users: { ...f.basicAuth.users },
        passAuthorization: f.basicAuth.passAuthorization ?? false
      }
    }
  }
  return out
}

function addresses (list: string[], at: string, problems: string[]): string[] | null {
  list.forEach((entry, i) => {
    if (parseRange(entry) === undefined) problems.push(`${at}[${i}]: not an IP address or CIDR (got ${JSON.stringify(entry)})`)
  })
  return list.length === 0 ? null : [...list]
}

function normalizeRules (rules: HeaderRulesConfig | undefined, at: string, problems: string[]): HeaderRules | undefined {
  if (rules === undefined) return undefined
  const pairs = (kind: 'set' | 'add'): Array<[string, string]> => Object.entries(rules[kind] ?? {}).map(([name, value]) => {
    const field = `${at}.${kind}.${name}`
    const problem = headerNameProblem(name) ?? headerValueProblem(value)
    if (problem !== undefined) problems.push(`${field}: ${problem}`)
    templateProblems(value, field, problems)
    return [name.toLowerCase(), value]
  })
  const set = pairs('set')
  const add = pairs('add')
  const remove = (rules.remove ?? []).map((name, i) => {
    const problem = headerNameProblem(name)
    if (problem !== undefined) problems.push(`${at}.remove[${i}]: ${problem}`)
    return name.toLowerCase()
  })
  return set.length + add.length + remove.length === 0 ? undefined : { set, add, remove }
}

function templateProblems (text: string, field: string, problems: string[]): void {
  const unknown = unknownPlaceholders(text)
  if (unknown.length > 0) problems.push(`${field}: unknown placeholder ${unknown.join(', ')} (known: ${PLACEHOLDER_NAMES.join(', ')})`)
}
