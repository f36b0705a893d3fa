import { createServer, type IncomingMessage, type Server } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'

type Test = { teardown (fn: () => unknown): void }

/** A span as the OTLP/HTTP JSON exporter sends it, its attributes flattened to plain values. */
export interface ReceivedSpan {
  traceId: string
  spanId: string
  /** '' on a root span. */
  parentSpanId: string
  name: string
  /** OTLP's SpanKind: 2 SERVER, 3 CLIENT. */
  kind: number
  attributes: Record<string, string | number | boolean>
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: { code: number, message?: string }
  /** The resource's attributes (service.name). */
  resource: Record<string, string | number | boolean>
}

export const SERVER = 2
export const CLIENT = 3
export const ERROR = 2

export interface Collector {
  /** The traces URL to give as tracing.endpoint. */
  url: string
  spans: ReceivedSpan[]
  /** Every export request's headers, in order. */
  requests: Array<IncomingMessage['headers']>
  /** The spans of one trace. */
  trace (traceId: string): ReceivedSpan[]
}

/**
 * A small OTLP/HTTP receiver: what an OpenTelemetry Collector's otlp receiver does on
 * :4318/v1/traces, for JSON (what @opentelemetry/exporter-trace-otlp-http sends, as
 * `content-type: application/json`). Anything else is refused with 415, so that an exporter
 * that changed its encoding fails the tests instead of passing them empty.
 */
export async function startCollector (t: Test): Promise<Collector> {
  const spans: ReceivedSpan[] = []
  const requests: Collector['requests'] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push(req.headers)
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end()
        return
      }
      spans.push(...decode(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans,
    requests,
    trace: id => spans.filter(s => s.traceId === id)
  }
}

interface OtlpValue { stringValue?: string, intValue?: string | number, doubleValue?: number, boolValue?: boolean }
interface OtlpAttribute { key: string, value: OtlpValue }

function flatten (attributes: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const { key, value } of attributes ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue
    else if (value.intValue !== undefined) out[key] = Number(value.intValue)
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue
    else if (value.boolValue !== undefined) out[key] = value.boolValue
  }
  return out
}

/** ExportTraceServiceRequest (OTLP JSON: ids as hex strings) to a flat list of spans. */
function decode (body: { resourceSpans?: Array<{ resource?: { attributes?: OtlpAttribute[] }, scopeSpans?: Array<{ spans?: any[] }> }> }): ReceivedSpan[] {
  const out: ReceivedSpan[] = []
  for (const rs of body.resourceSpans ?? []) {
    const resource = flatten(rs.resource?.attributes)
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind,
          attributes: flatten(s.attributes),
          status: { code: s.status?.code ?? 0, message: s.status?.message },
          resource
        })
      }
    }
  }
  return out
}

/** A traceparent's parts, or undefined when the header is not one. */
export function parseTraceparent (header: unknown): { traceId: string, spanId: string, flags: string } | undefined {
  const m = typeof header === 'string' ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header) : null
  if (m === null || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return undefined
  return { traceId: m[1], spanId: m[2], flags: m[3] }
}
