import type { LogEntry } from './entry'
import { timeIso8601, timeLocal } from './clock'

/** What a redacted value is written as: the same word as GET /config's secrets. */
export const REDACTED = '[redacted]'

export interface Redaction {
  query: boolean
  /** Lower-cased header names. */
  headers: ReadonlySet<string>
}

export type Value = string | number | undefined
type Getter = (e: LogEntry) => Value

interface Field {
  /** The name in a template, after `$`, nginx's variable name where nginx has one. */
  name: string
  /** The key in the JSON line; none: a template field only (pino writes the time of a JSON line). */
  json?: string
  get: (redact: Redaction) => Getter
}

const plain = (get: Getter) => () => get

const pathOf = (url: string): string => {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
const queryOf = (url: string): string | undefined => {
  const q = url.indexOf('?')
  return q === -1 ? undefined : url.slice(q + 1)
}
/** The target with its query shown as "[redacted]" (kept apart from the path, so a reader sees there was one). */
const target = (redact: Redaction): Getter => redact.query
  ? e => { const q = e.url.indexOf('?'); return q === -1 ? e.url : `${e.url.slice(0, q)}?${REDACTED}` }
  : e => e.url

/** nginx's $remote_user: the user name of Basic credentials, whether or not they were right. */
function basicUser (e: LogEntry): string | undefined {
  const auth = e.headers.authorization
  if (auth === undefined || auth.length < 7 || auth.slice(0, 6).toLowerCase() !== 'basic ') return undefined
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon === -1 ? undefined : decoded.slice(0, colon)
}

/** $host: the Host (or :authority) without its port, lower-cased, as nginx's. */
function hostOf (e: LogEntry): string | undefined {
  const host = e.headers.host ?? (e.headers[':authority'] as string | undefined)
  if (host === undefined) return undefined
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':')
  return (end <= 0 ? host : host.slice(0, end)).toLowerCase()
}

const joined = (v: number | string | string[] | undefined): Value => Array.isArray(v) ? v.join(', ') : v

const FIELDS: Field[] = [
  { name: 'remote_addr', json: 'remoteAddress', get: plain(e => e.ip) },
  { name: 'remote_user', json: 'remoteUser', get: plain(basicUser) },
  { name: 'time_local', get: plain(e => timeLocal(e.time)) },
  { name: 'time_iso8601', get: plain(e => timeIso8601(e.time)) },
  { name: 'msec', get: plain(e => (e.time / 1000).toFixed(3)) },
  { name: 'request', json: 'request', get: r => { const t = target(r); return e => `${e.method} ${t(e) as string} HTTP/${e.httpVersion}` } },
  { name: 'request_method', json: 'method', get: plain(e => e.method) },
  { name: 'request_uri', json: 'url', get: target },
  { name: 'uri', json: 'path', get: plain(e => pathOf(e.url)) },
  { name: 'args', json: 'query', get: r => r.query ? e => queryOf(e.url) === undefined ? undefined : REDACTED : e => queryOf(e.url) },
  { name: 'server_protocol', json: 'protocol', get: plain(e => `HTTP/${e.httpVersion}`) },
  { name: 'host', json: 'host', get: plain(hostOf) },
  { name: 'status', json: 'status', get: plain(e => e.status) },
  { name: 'body_bytes_sent', json: 'bytesSent', get: plain(e => e.bytesSent) },
  { name: 'request_time', get: plain(e => (e.responseTime / 1000).toFixed(3)) },
  { name: 'response_time_ms', json: 'responseTime', get: plain(e => e.responseTime) },
  { name: 'upstream', json: 'upstream', get: plain(e => e.upstream) },
  { name: 'server', json: 'server', get: plain(e => e.server) },
  { name: 'upstream_addr', json: 'serverAddress', get: plain(e => e.serverOrigin === undefined ? undefined : e.serverOrigin.slice(e.serverOrigin.indexOf('//') + 2)) },
  { name: 'route', json: 'route', get: plain(e => e.route) },
  { name: 'request_id', json: 'requestId', get: plain(e => e.requestId) },
  { name: 'req_id', json: 'reqId', get: plain(e => e.reqId) },
  { name: 'outcome', get: plain(e => e.outcome) },
  { name: 'reason', json: 'reason', get: plain(e => e.reason) },
  { name: 'grpc_status', json: 'grpcStatus', get: plain(e => e.grpcStatus) }
]

const BY_NAME = new Map(FIELDS.map(f => [f.name, f]))
const BY_JSON = new Map(FIELDS.filter(f => f.json !== undefined).map(f => [f.json as string, f]))

// nginx's $http_NAME and $sent_http_NAME: a request or response header, the name lower-cased with '-' as '_'.
const HEADER = /^(sent_)?http_([a-z0-9_]+)$/

/** The header a field names: `http_x_api_key` is the request's x-api-key. */
function headerField (name: string, redact: Redaction): Getter | undefined {
  const m = HEADER.exec(name)
  if (m === null) return undefined
  const header = m[2].replace(/_/g, '-')
  const hidden = redact.headers.has(header)
  if (m[1] === undefined) return hidden ? e => e.headers[header] === undefined ? undefined : REDACTED : e => joined(e.headers[header])
  return hidden ? e => e.sentHeader(header) === undefined ? undefined : REDACTED : e => joined(e.sentHeader(header))
}

/** The getter of a template field (`$name`), or undefined when there is no such field. */
export function templateField (name: string, redact: Redaction): Getter | undefined {
  return BY_NAME.get(name)?.get(redact) ?? headerField(name, redact)
}

/** The getter of a JSON field, or undefined when there is no such field. */
export function jsonField (key: string, redact: Redaction): Getter | undefined {
  return BY_JSON.get(key)?.get(redact) ?? headerField(key, redact)
}

/** Whether a template or JSON field needs the body bytes counted as they are written. */
export const countsBytes = (name: string): boolean => name === 'body_bytes_sent' || name === 'bytesSent'

export const TEMPLATE_FIELDS = FIELDS.map(f => f.name)
export const JSON_FIELDS = [...BY_JSON.keys()]
