import { ROOT_CONTEXT, trace, type Context, type Span, type Tracer } from '@opentelemetry/api'
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core'
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import type { TracingOptions } from '../config/types'
import { TRACING_MAX_BATCH, TRACING_MAX_QUEUE } from '../config/defaults'
import { redactUrl } from '../config/export'

/** The few lines the tracer logs: the collector failing, and taking spans again. */
export interface TracingLog {
  warn (obj: object, msg: string): void
  info (obj: object, msg: string): void
}

/**
 * What the gateway traces with: its own tracer provider, never the process-wide one of the
 * OpenTelemetry API (a host app may have its own, with other exporters), and W3C Trace Context
 * to read a client's context and hand one to the backend.
 */
export interface Tracing {
  tracer: Tracer
  /** The context a request continues: the client's traceparent/tracestate, or none (a new trace). */
  extract (headers: Record<string, unknown>): Context
  /** Writes `span`'s context as traceparent (and tracestate) into `headers`, in place of the client's. */
  inject (span: Span, headers: Record<string, unknown>): void
  /** Sends what is held and stops: at most `exportTimeout` with the collector down; never rejects. */
  shutdown (): Promise<void>
}

const propagator = new W3CTraceContextPropagator()
const getter = {
  get: (carrier: Record<string, unknown>, key: string) => carrier[key] as string | string[] | undefined,
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier)
}
const setter = {
  set: (carrier: Record<string, unknown>, key: string, value: string) => { carrier[key] = value }
}

/**
 * Spans sampled parent-first (a client's sampled flag decides for its trace, sampleRatio for
 * the traces this gateway starts, as OTEL_TRACES_SAMPLER=parentbased_traceidratio), ended
 * spans batched and sent as OTLP/HTTP JSON to `endpoint`.
 */
export function createTracing (options: TracingOptions, log: TracingLog): Tracing {
  const exporter = new LoggedExporter(new OTLPTraceExporter({
    url: options.endpoint,
    headers: options.headers,
    timeoutMillis: options.exportTimeout
  }), redactUrl(options.endpoint), log)
  const provider = new TracerProvider({
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': options.serviceName })),
    spanProcessors: [new BatchSpanProcessor({
      exporter,
      scheduledDelayMillis: options.batchDelay,
      exportTimeoutMillis: options.exportTimeout,
      maxQueueSize: TRACING_MAX_QUEUE,
      maxExportBatchSize: TRACING_MAX_BATCH
    })]
  })
  return {
    tracer: provider.getTracer('gatehouse'),
    extract: headers => propagator.extract(ROOT_CONTEXT, headers, getter),
    inject (span, headers) {
      // The client's context is replaced, never passed on beside ours, as Envoy does: the
      // backend's spans are children of this attempt. A tracestate without our traceparent
      // would describe another trace.
      // (Deleted, not set to undefined: node:http refuses an undefined header value.)
      if (headers.tracestate !== undefined) delete headers.tracestate
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, setter)
    },
    async shutdown () {
      // A collector that is down or slow must not fail the gateway's close: the spans are given up.
      await provider.shutdown().catch((err: Error) => {
        log.warn({ endpoint: redactUrl(options.endpoint), err: err.message }, 'tracing: the spans held at close could not be sent')
      })
    }
  }
}

/**
 * The exporter, with its failures logged once when they begin and once when they end: the
 * SDK reports them only through its diagnostics logger, silent unless a process sets one.
 * A collector that is down never touches an answer: spans wait in the batch (up to
 * TRACING_MAX_QUEUE), and past that are dropped.
 */
class LoggedExporter implements SpanExporter {
  private failing = false

  constructor (private readonly inner: SpanExporter, private readonly endpoint: string, private readonly log: TracingLog) {}

  export (spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, result => {
      if (result.code !== ExportResultCode.SUCCESS) {
        if (!this.failing) this.log.warn({ endpoint: this.endpoint, err: result.error?.message }, 'tracing: spans could not be sent to the collector (more are dropped while it fails)')
        this.failing = true
      } else if (this.failing) {
        this.failing = false
        this.log.info({ endpoint: this.endpoint }, 'tracing: the collector takes spans again')
      }
      done(result)
    })
  }

  async shutdown (): Promise<void> {
    await this.inner.shutdown()
  }

  async forceFlush (): Promise<void> {
    await this.inner.forceFlush?.()
  }
}
