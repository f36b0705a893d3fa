import type { AccessLogOptions } from '../config/types'
import { DEFAULT_ACCESS_LOG_FIELDS } from '../config/defaults'
import type { LogEntry } from './entry'
import { countsBytes, jsonField, type Redaction, type Value } from './fields'
import { COMBINED, compileTemplate, templateFieldNames } from './template'

/** The access log as configured, compiled once at start. */
export interface CompiledAccessLog {
  /** The JSON line as it always was (the default fields): written from the request directly, no entry built. */
  defaultJson: boolean
  /** The JSON line's object, for chosen fields. */
  json?: (e: LogEntry) => Record<string, Value>
  /** The text line of the combined or template format. */
  line?: (e: LogEntry) => string
  /** Whether the body bytes must be counted as they are written. */
  countsBytes: boolean
  /** Which answers get a line: undefined, all of them (no check per request). */
  keep?: (status: number) => boolean
}

export function compileAccessLog (options: AccessLogOptions, random: () => number = Math.random): CompiledAccessLog {
  const redact: Redaction = { query: options.redact.query, headers: new Set(options.redact.headers) }
  const keep = keepOf(options, random)
  if (options.format !== 'json') {
    const template = options.format === 'combined' ? COMBINED : options.format
    return { defaultJson: false, line: compileTemplate(template, redact), countsBytes: templateFieldNames(template).some(countsBytes), keep }
  }
  if (sameList(options.fields, DEFAULT_ACCESS_LOG_FIELDS)) return { defaultJson: true, countsBytes: false, keep }
  const keys = options.fields
  const getters = keys.map(k => jsonField(k, redact) as NonNullable<ReturnType<typeof jsonField>>)
  return {
    defaultJson: false,
    json: e => {
      const out: Record<string, Value> = {}
      for (let i = 0; i < keys.length; i++) out[keys[i]] = getters[i](e)
      return out
    },
    countsBytes: keys.some(countsBytes),
    keep
  }
}

/**
 * Errors (status 400 and up: the client's as well as the servers', since refusals, 401s and 429s
 * are what an operator looks for) always get a line; successful answers only at `sampleRatio`,
 * and none with `errorsOnly`.
 */
function keepOf (options: AccessLogOptions, random: () => number): ((status: number) => boolean) | undefined {
  if (options.errorsOnly || options.sampleRatio <= 0) return status => status >= 400
  if (options.sampleRatio >= 1) return undefined
  const ratio = options.sampleRatio
  return status => status >= 400 || random() < ratio
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
