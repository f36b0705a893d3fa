import { isAbsolute, resolve } from 'node:path'
import type { GatehouseConfig } from '../schema'
import type { AccessLogOptions } from '../types'
import {
  DEFAULT_ACCESS_LOG_DESTINATION, DEFAULT_ACCESS_LOG_ERRORS_ONLY, DEFAULT_ACCESS_LOG_FIELDS, DEFAULT_ACCESS_LOG_FORMAT,
  DEFAULT_ACCESS_LOG_REDACT_HEADERS, DEFAULT_ACCESS_LOG_REDACT_QUERY, DEFAULT_ACCESS_LOG_SAMPLE_RATIO
} from '../defaults'
import { jsonField, JSON_FIELDS, templateField, TEMPLATE_FIELDS } from '../../access-log/fields'
import { templateFieldNames } from '../../access-log/template'

const NO_REDACTION = { query: false, headers: new Set<string>() }

/** `accessLog`, its defaults filled in; a field nobody knows is named with the list of those there are. */
export function normalizeAccessLog (log: GatehouseConfig['accessLog'], baseDir: string, problems: string[]): AccessLogOptions {
  const format = log?.format ?? DEFAULT_ACCESS_LOG_FORMAT
  const fields = log?.fields ?? DEFAULT_ACCESS_LOG_FIELDS
  if (format !== 'json' && format !== 'combined') {
    const names = templateFieldNames(format)
    // A string without a field is more likely a misspelt format name than a constant line.
    if (names.length === 0) problems.push(`accessLog.format: "json", "combined", or a template of $fields such as "$remote_addr $status $upstream" (got ${JSON.stringify(format)})`)
    for (const name of names) {
      if (templateField(name, NO_REDACTION) === undefined) problems.push(`accessLog.format: unknown field $${name} (known: ${TEMPLATE_FIELDS.map(f => `$${f}`).join(', ')}, $http_NAME, $sent_http_NAME)`)
    }
  }
  fields.forEach((key, i) => {
    if (jsonField(key, NO_REDACTION) === undefined) problems.push(`accessLog.fields[${i}]: unknown field "${key}" (known: ${JSON_FIELDS.join(', ')}, http_NAME, sent_http_NAME)`)
  })
  const destination = log?.destination ?? DEFAULT_ACCESS_LOG_DESTINATION
  if (format === 'json' && destination !== 'stdout') {
    problems.push('accessLog.destination: the json line goes through the Fastify logger (its own destination); a file is for the combined and template formats')
  }
  return {
    format,
    fields: [...fields],
    redact: {
      query: log?.redact?.query ?? DEFAULT_ACCESS_LOG_REDACT_QUERY,
      headers: (log?.redact?.headers ?? DEFAULT_ACCESS_LOG_REDACT_HEADERS).map(h => h.toLowerCase())
    },
    errorsOnly: log?.errorsOnly ?? DEFAULT_ACCESS_LOG_ERRORS_ONLY,
    sampleRatio: log?.sampleRatio ?? DEFAULT_ACCESS_LOG_SAMPLE_RATIO,
    destination: destination === 'stdout' || isAbsolute(destination) ? destination : resolve(baseDir, destination)
  }
}
