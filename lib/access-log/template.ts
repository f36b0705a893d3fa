import type { LogEntry } from './entry'
import { escapeLogValue } from './escape'
import { templateField, type Redaction, type Value } from './fields'

/** The combined log format of Apache and nginx, as nginx predefines it. */
export const COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'

// `$name`, or `${name}` where the next character would run into the name, as nginx reads them.
const VARIABLE = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g

/** The fields a template names, in order. */
export function templateFieldNames (template: string): string[] {
  return [...template.matchAll(VARIABLE)].map(m => m[1] ?? m[2])
}

/**
 * A template compiled once, at start, into its literal parts and field getters: a line is
 * then the parts joined, with no parsing per request. An empty or missing value is "-" and
 * strings are escaped as nginx escapes them (lib/access-log/escape.ts).
 */
export function compileTemplate (template: string, redact: Redaction): (e: LogEntry) => string {
  const literals: string[] = []
  const getters: Array<(e: LogEntry) => Value> = []
  let last = 0
  for (const m of template.matchAll(VARIABLE)) {
    const name = m[1] ?? m[2]
    const get = templateField(name, redact)
    if (get === undefined) throw new Error(`unknown access log field $${name}`)
    literals.push(template.slice(last, m.index))
    getters.push(get)
    last = m.index + m[0].length
  }
  const tail = template.slice(last)
  return e => {
    let line = ''
    for (let i = 0; i < getters.length; i++) line += literals[i] + text(getters[i](e))
    return line + tail
  }
}

function text (v: Value): string {
  if (v === undefined || v === '') return '-'
  return typeof v === 'number' ? String(v) : escapeLogValue(v)
}
