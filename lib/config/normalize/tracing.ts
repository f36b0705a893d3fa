import type { GatehouseConfig } from '../schema'
import type { TracingOptions } from '../types'
import { DEFAULT_TRACING_BATCH_DELAY, DEFAULT_TRACING_ENDPOINT, DEFAULT_TRACING_EXPORT_TIMEOUT, DEFAULT_TRACING_HEADERS, DEFAULT_TRACING_SAMPLE_RATIO, DEFAULT_TRACING_SERVICE_NAME } from '../defaults'
import { ms, timerMs } from '../values'

// RFC 9110 §5.6.2 token: what a header name may be.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// A field value that fits on one line (no CR, LF or NUL), as Node's own check.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** `tracing`: undefined (off) when the key is left out; each default as the OpenTelemetry SDK's environment variables have it. */
export function normalizeTracing (tracing: GatehouseConfig['tracing'], problems: string[]): TracingOptions | undefined {
  if (tracing === undefined) return undefined
  const endpoint = tracing.endpoint ?? DEFAULT_TRACING_ENDPOINT
  if (!isHttpUrl(endpoint)) problems.push(`tracing.endpoint: must be an http:// or https:// URL such as "http://collector:4318/v1/traces" (got ${JSON.stringify(endpoint)})`)
  const headers = { ...(tracing.headers ?? DEFAULT_TRACING_HEADERS) }
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) problems.push(`tracing.headers: ${JSON.stringify(name)} is not a header name`)
    else if (!FIELD_VALUE.test(value)) problems.push(`tracing.headers.${name}: a header value must not hold CR, LF or NUL`)
  }
  return {
    endpoint,
    serviceName: tracing.serviceName ?? DEFAULT_TRACING_SERVICE_NAME,
    sampleRatio: tracing.sampleRatio ?? DEFAULT_TRACING_SAMPLE_RATIO,
    headers,
    batchDelay: timerMs(problems, 'tracing.batchDelay', ms(tracing.batchDelay, DEFAULT_TRACING_BATCH_DELAY)),
    exportTimeout: timerMs(problems, 'tracing.exportTimeout', ms(tracing.exportTimeout, DEFAULT_TRACING_EXPORT_TIMEOUT))
  }
}

function isHttpUrl (text: string): boolean {
  try {
    const url = new URL(text)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {
    return false
  }
}
