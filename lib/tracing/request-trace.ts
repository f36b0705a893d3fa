import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api'
import type { AbortReason, AttemptObserver, Failure } from '../proxy/attempt'
import type { Backend } from '../upstreams/backend'
import type { Tracing } from './tracer'

/** What a request span is started from: the few fields of the Fastify request it reads. */
export interface TracedRequest {
  method: string
  url: string
  ip: string
  protocol: string
  headers: Record<string, string | string[] | undefined>
  raw: { httpVersion: string }
}

/** The route a request matched: its path (http.route), its name (the span's, when it has one) and group. */
export interface TracedRoute {
  path: string
  name?: string
  upstream?: string
}

/** What each attempt's span says of how it ended (`gatehouse.attempt.outcome`). */
export type AttemptOutcome = 'answered' | 'failed' | 'retried' | 'client-gone' | 'deadline' | 'unanswered'

/**
 * One request's spans: a SERVER span for the request, continuing the client's trace or starting
 * one, and a CLIENT span under it for each attempt to a server, whose context is what the
 * backend receives. Attributes follow OpenTelemetry's HTTP semantic conventions; what they have
 * no name for (the group, the server's id, how an attempt ended) is under `gatehouse.`.
 */
export class RequestTrace implements AttemptObserver {
  private readonly span: Span
  /** The request span's context: each attempt's parent. */
  private readonly context: Context
  private attempt: Span | null = null
  private answered_ = false
  private attempts = 0
  /** The backend upgraded the connection (101): the request's answer, which the reply never carries. */
  private upgraded = false

  constructor (private readonly tracing: Tracing, route: TracedRoute, private readonly request: TracedRequest) {
    // Named as the access log and metrics label the route, so the three read alike; the path
    // stays in http.route, which the semantic conventions reserve for the matched template.
    this.span = tracing.tracer.startSpan(`${request.method} ${route.name ?? route.path}`, { kind: SpanKind.SERVER }, tracing.extract(request.headers))
    this.context = trace.setSpan(ROOT_CONTEXT, this.span)
    // The attributes after the sampling decision (the samplers used read none): an unsampled
    // request, which only carries its context on, does not pay for them.
    if (this.span.isRecording()) this.span.setAttributes(requestAttributes(route, request))
  }

  /** Whether this request's spans are recorded (sampled): if not, nothing needs ending. */
  get recording (): boolean {
    return this.span.isRecording()
  }

  started (backend: Backend): void {
    this.attempts++
    this.answered_ = false
    const span = this.attempt = this.tracing.tracer.startSpan(this.request.method, { kind: SpanKind.CLIENT }, this.context)
    if (!span.isRecording()) return
    const { address, port } = addressOf(backend)
    span.setAttributes({
      'http.request.method': this.request.method,
      'server.address': address,
      'server.port': port,
      'gatehouse.server.id': backend.id,
      'gatehouse.attempt': this.attempts
    })
    // The semantic conventions' count of resends: absent on the first attempt.
    if (this.attempts > 1) span.setAttribute('http.request.resend_count', this.attempts - 1)
  }

  sending (headers: Record<string, unknown>): void {
    if (this.attempt !== null) this.tracing.inject(this.attempt, headers)
  }

  answered (status?: number): void {
    const span = this.attempt
    if (span === null) return
    this.answered_ = true
    if (status === 101) this.upgraded = true
    if (status === undefined) return
    span.setAttribute('http.response.status_code', status)
    // A client span's error is any 4xx or 5xx (the HTTP semantic conventions).
    if (status >= 400) {
      span.setAttribute('error.type', String(status))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
  }

  failed (code: string, failure: Failure): void {
    const span = this.attempt
    if (span === null) return
    const gatewayCode = (failure.error as { code?: string }).code
    span.setAttributes({
      'gatehouse.attempt.outcome': failure.retry ? 'retried' : 'failed',
      'error.type': code === '' ? gatewayCode ?? 'unknown' : code,
      ...(gatewayCode !== undefined && { 'gatehouse.error.code': gatewayCode }),
      ...(failure.ejected && { 'gatehouse.server.ejected': true })
    })
    span.setStatus({ code: SpanStatusCode.ERROR, message: code })
    this.endAttempt()
  }

  cancelled (): void {
    // It never left: a span never ended is never exported, and this one is dropped.
    this.attempt = null
  }

  aborted (reason: AbortReason): void {
    const span = this.attempt
    if (span === null) return
    span.setAttribute('gatehouse.attempt.outcome', reason)
    // A client that left is no failure of the backend's; a backend past the call's deadline is one.
    if (reason === 'deadline') {
      span.setAttribute('error.type', 'deadline exceeded')
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the gRPC deadline passed' })
    }
    this.endAttempt()
  }

  /**
   * The exchange with the client is over (its response closed): the attempt still open ends
   * with it, its answer streamed, then the request span with the status the client got.
   */
  end (statusCode: number, completed: boolean): void {
    if (this.attempt !== null) {
      // A client gone before its answer ended cancels the backend's too (the forwarder aborts it right after).
      const outcome: AttemptOutcome = !completed && !this.upgraded ? 'client-gone' : this.answered_ ? 'answered' : 'unanswered'
      this.attempt.setAttribute('gatehouse.attempt.outcome', outcome)
      this.endAttempt()
    }
    const status = this.upgraded ? 101 : statusCode
    const span = this.span
    span.setAttribute('http.response.status_code', status)
    // A server span's error is a 5xx only: a 4xx is the client's doing (the HTTP semantic conventions).
    if (status >= 500) {
      span.setAttribute('error.type', String(status))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
    // Closed before the answer ended (nginx logs 499), a tunnel aside, which never "ends" an answer.
    if (!completed && !this.upgraded) span.setAttribute('gatehouse.client_gone', true)
    span.end()
  }

  private endAttempt (): void {
    ;(this.attempt as Span).end()
    this.attempt = null
  }
}

function requestAttributes (route: TracedRoute, request: TracedRequest): Attributes {
  const url = request.url
  const q = url.indexOf('?')
  const attributes: Attributes = {
    'http.request.method': request.method,
    'http.route': route.path,
    'url.path': q === -1 ? url : url.slice(0, q),
    'url.scheme': request.protocol,
    'client.address': request.ip,
    'network.protocol.version': protocolVersion(request.raw.httpVersion)
  }
  const host = hostOf(request.headers)
  if (host !== undefined) attributes['server.address'] = host
  const agent = request.headers['user-agent']
  if (typeof agent === 'string') attributes['user_agent.original'] = agent
  if (route.upstream !== undefined) attributes['gatehouse.upstream'] = route.upstream
  return attributes
}

/** "1.1" or "2" (the semantic conventions' spelling; Node says "2.0"). */
function protocolVersion (version: string): string {
  return version === '2.0' ? '2' : version
}

/** The Host header's (or :authority's) host, without the port. */
function hostOf (headers: TracedRequest['headers']): string | undefined {
  const host = headers.host ?? headers[':authority']
  if (typeof host !== 'string' || host === '') return undefined
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.indexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}

// A server's origin parsed once, not per attempt.
const addresses = new WeakMap<Backend, { address: string, port: number }>()

function addressOf (backend: Backend): { address: string, port: number } {
  let out = addresses.get(backend)
  if (out === undefined) {
    const url = new URL(backend.origin)
    out = { address: url.hostname, port: Number(url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : url.port) }
    addresses.set(backend, out)
  }
  return out
}
