import { compileTemplate, type Template, type TemplateSource } from './header-template'
import { toArray } from '../to-array'

/** Header rules after normalization: names lower-cased, values still as templates (plain data, so a reload can compare them). */
export interface HeaderRules {
  set: Array<[string, string]>
  add: Array<[string, string]>
  remove: string[]
}

/**
 * Headers a rule may not set, add or remove: the hop-by-hop ones (RFC 9110 §7.6.1) describe
 * a connection, not the message, and are dropped on the way anyway; Host decides routing and
 * the backend's virtual host (see `preserveHost`); Content-Length frames the body, and a
 * wrong one desynchronises the connection.
 */
export const UNSETTABLE = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'host', 'content-length'])

export function unsettable (name: string): boolean {
  return UNSETTABLE.has(name) || name.startsWith('proxy-')
}

// RFC 9110 §5.1 field-name token, and a value without CR, LF or NUL (§5.5).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const BAD_VALUE = /[\r\n\0]/

export function headerNameProblem (name: string): string | undefined {
  if (!TOKEN.test(name)) return 'not a valid header name'
  if (unsettable(name.toLowerCase())) return 'a hop-by-hop header, host or content-length cannot be changed by a rule'
  return undefined
}

export function headerValueProblem (value: string): string | undefined {
  return BAD_VALUE.test(value) ? 'a header value cannot hold CR, LF or NUL' : undefined
}

interface Compiled {
  set: Array<[string, Template]>
  add: Array<[string, Template]>
  remove: string[]
}

export type CompiledRules = Compiled

export function compileRules (rules: HeaderRules): CompiledRules {
  return {
    set: rules.set.map(([n, v]) => [n, compileTemplate(v)]),
    add: rules.add.map(([n, v]) => [n, compileTemplate(v)]),
    remove: rules.remove
  }
}

export type RequestHeaders = Record<string, string | string[] | undefined>

/**
 * Applies rules to request headers in place: remove, then set, then add (so `remove` and
 * `set` of one name replace it). A header added to one that is there already joins it as a
 * repeated header would arrive (`, `; `; ` for Cookie, RFC 6265 §5.4).
 */
export function applyToRequest (headers: RequestHeaders, rules: CompiledRules, source: TemplateSource): void {
  for (const name of rules.remove) delete headers[name]
  for (const [name, value] of rules.set) headers[name] = value(source)
  for (const [name, value] of rules.add) {
    const v = value(source)
    const had = headers[name]
    headers[name] = had === undefined ? v : `${toArray(had).join(', ')}${name === 'cookie' ? '; ' : ', '}${v}`
  }
}

/** The part of a Fastify reply that the response rules use. */
export interface HeaderTarget {
  getHeader (name: string): unknown
  header (name: string, value: unknown): unknown
  removeHeader (name: string): unknown
}

/** Applies rules to an answer's headers: remove, then set, then add (a repeated header line). */
export function applyToResponse (reply: HeaderTarget, rules: CompiledRules, source: TemplateSource): void {
  for (const name of rules.remove) reply.removeHeader(name)
  for (const [name, value] of rules.set) {
    // Fastify's reply.header() appends to set-cookie rather than replacing it.
    reply.removeHeader(name)
    reply.header(name, value(source))
  }
  for (const [name, value] of rules.add) {
    const had = reply.getHeader(name)
    const v = value(source)
    if (had === undefined || name === 'set-cookie') reply.header(name, v)
    else reply.header(name, [...toArray(had as string | string[]).map(String), v])
  }
}
