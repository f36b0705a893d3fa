import fp from 'fastify-plugin'
import replyFrom, { type FastifyReplyFromHooks, type FastifyReplyFromOptions } from '@fastify/reply-from'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Readable } from 'node:stream'
import type { IncomingHttpHeaders } from 'node:http'
import type { Upstream } from '../../lib/upstreams/upstream'
import type { UpstreamRegistry } from '../../lib/upstreams/registry'
import { Attempt } from '../../lib/proxy/attempt'
import { logFailure } from '../../lib/proxy/attempt-log'
import { failureCode } from '../../lib/proxy/attempt-failure'
import { BodyView } from '../../lib/http/body-view'
import { dropTape, replayableFromTape, tapeFor } from '../../lib/grpc/body-tape'
import { BadRequestError, DeadlineExceededError, BODY_TOO_LARGE_CODE, CLIENT_ABORTED_CODE, ClientAbortedError, RECEIVE_TIMEOUT_CODE, ReceiveTimeoutError } from '../../lib/errors'
import { forwardRequestHeadersInPlace, withoutHopByHop } from '../../lib/http/forward-headers'
import { carryTarget } from '../../lib/proxy/upstream-target'
import { carryPoolKey } from '../../lib/proxy/pool-key'
import { carrySignal, CLIENT_GONE_CODE } from '../../lib/proxy/client-signal'
import { carryInterim } from '../../lib/proxy/interim'
import { bodyPending, closeConnection } from '../../lib/http/close-connection'
import { isReplayable, isStream, isUnread } from '../../lib/http/body-kind'
import { askForTrailers, isGrpc } from '../../lib/grpc/call'
import { passTrailers } from '../../lib/grpc/trailers'
import { grpcTimeoutMs } from '../../lib/grpc/timeout'
import { grpcStatusOf } from '../../lib/grpc/status'
import { noteRouteHooks, sendDirect } from './direct-send'

declare module 'fastify' {
  interface FastifyReply {
    /** Proxies the request to `upstream`, at `path` (the path and no query), with failover. */
    forward (upstream: Upstream, path: string): void
  }
  interface FastifyRequest {
    /** Set before forward() by a plugin that sees the outcome first (the cache); null otherwise. */
    proxyTap: ProxyTap | null
  }
}

/** A look at the outcome of a forwarded request before the client gets it (plugins/policies/cache.ts). */
export interface ProxyTap {
  /** The backend answered: the body to send (the stream, or one wrapping it), or null when the tap answered the client itself. */
  response (reply: ProxyReply, res: ProxiedResponse): Readable | null
  /** No server answered (none ready, or the last attempt failed): true when the tap answered the client itself. */
  failed (reply: ProxyReply, error: Error): boolean
}

/** What reply-from hands onResponse at run time: undici's answer (its type names a ServerResponse). */
export interface ProxiedResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  stream: Readable
}

export interface ForwardOptions {
  registry: UpstreamRegistry
}

// RFC 9110 §9.2.2: a request that reached a backend may be sent again only if repeating it changes nothing.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])

const kAttempt = Symbol('gatehouse.attempt')
const kPath = Symbol('gatehouse.path')
const kSource = Symbol('gatehouse.source')
const kRaw = Symbol('gatehouse.rawReply')
const kBackendHeaders = Symbol('gatehouse.backendHeaders')

interface ForwardState {
  /** The request's way through its group; also hung on the raw response, to release it on close. */
  [kAttempt]: Attempt | null
  [kPath]: string
  /** The streamed request body, when it is one; request.body is then a view of it per attempt. */
  [kSource]: Readable | null
  /** The client's response, for the backend's interim (1xx) answers to go out on before the final one. */
  [kRaw]: FastifyReply['raw'] | null
  /** The backend's answer headers as copied onto the reply, until a gateway error drops them. */
  [kBackendHeaders]: Record<string, unknown> | null
}

type GatewayRequest = FastifyRequest & ForwardState
type RawWithAttempt = FastifyReply['raw'] & { [kAttempt]?: Attempt }

/**
 * HTTP proxying with failover: reply-from on our undici pools sends each attempt, and an
 * Attempt (lib/proxy/attempt.ts) decides which server gets it and whether a failed one goes on.
 */
async function forward (fastify: FastifyInstance, opts: ForwardOptions) {
  // No `base`: a base given here would override the origin getUpstream returns per request.
  await fastify.register(replyFrom, {
    undici: opts.registry.pools,
    disableRequestLogging: true
  } satisfies FastifyReplyFromOptions)

  fastify.decorateRequest(kAttempt, null)
  fastify.decorateRequest(kPath, '')
  fastify.decorateRequest(kSource, null)
  fastify.decorateRequest(kRaw, null)
  fastify.decorateRequest(kBackendHeaders, null)
  fastify.decorateRequest('proxyTap', null)
  noteRouteHooks(fastify)

  fastify.decorateReply('forward', function (this: FastifyReply, upstream: Upstream, path: string) {
    const request = this.request as GatewayRequest
    const attempt = new Attempt(upstream, request, request.preferredBackend, request.attemptObserver)
    request.upstream = upstream
    request[kAttempt] = attempt
    request[kPath] = path
    request[kRaw] = this.raw
    ;(this.raw as RawWithAttempt)[kAttempt] = attempt
    // `on`, not `once`: a response closes once, and release() is safe to call twice anyway.
    this.raw.on('close', releaseOnClose)
    if (isGrpc(request.headers)) {
      const deadline = grpcTimeoutMs(request.headers['grpc-timeout'])
      // Beyond what a timer holds (about 24.8 days) is no bound worth keeping.
      if (deadline !== undefined && deadline <= 2147483647) watchDeadline(this, attempt, deadline)
    }
    send(this, request, attempt)
  })
}

/**
 * A gRPC call's deadline bounds it at the gateway too: the header goes on to the backend,
 * but a backend that does not honour it would hold the call until `timeouts.response`. When
 * it passes the backend call is cancelled (RST_STREAM, as a client's reset) and, if no answer
 * has started, the client gets DEADLINE_EXCEEDED, as Envoy bounds a call by its grpc-timeout.
 * An answer already under way is cut: its client's own deadline has passed as well.
 */
function watchDeadline (reply: FastifyReply, attempt: Attempt, ms: number): void {
  const timer = setTimeout(() => {
    if (reply.raw.writableEnded || reply.raw.destroyed) return
    const answered = reply.sent
    attempt.abort('deadline')
    if (!answered) reply.send(new DeadlineExceededError(attempt.upstream.name))
  }, Math.max(1, Math.ceil(ms)))
  reply.raw.once('close', () => clearTimeout(timer))
}

type ProxyReply = Parameters<Hook<'onError'>>[0]

function send (reply: ProxyReply, request: GatewayRequest, attempt: Attempt): void {
  const backend = attempt.next()
  if (backend === undefined) {
    fail(reply, request, attempt.noServer())
    return
  }
  request.backend = backend

  let body = request.body
  const held = Buffer.isBuffer(body) && request.method !== 'GET' && request.method !== 'HEAD'
  if (!held && isStream(body)) {
    // Each attempt reads the streamed body through a view of its own (see lib/http/body-view.ts).
    request[kSource] ??= body
    // A gRPC call's view keeps what it read, for a stream the backend refuses unstarted.
    body = request.body = new BodyView(request[kSource], isGrpc(request.headers) ? tapeFor(request[kSource]) : undefined)
  }
  const timeout = attempt.upstream.options.timeouts.response
  // reply-from would JSON-encode a Buffer body of a JSON request; handing it over as an
  // explicit body with the client's own content type sends the bytes unchanged.
  const hooks: FastifyReplyFromHooks = held
    ? { ...hooksFor(timeout), body, contentType: request.headers['content-type'] ?? 'application/octet-stream' }
    : hooksFor(timeout)
  try {
    reply.from(request[kPath], hooks)
  } catch (err) {
    // reply-from refuses some paths outright (`/..x`, which it reads as climbing out): the
    // client's fault, charged to no server, logged and counted as refused.
    attempt.cancel()
    request.backend = null
    request.upstream = null
    reply.send(new BadRequestError((err as Error).message))
  }
}

type Hook<K extends keyof FastifyReplyFromHooks> = NonNullable<FastifyReplyFromHooks[K]>

// One hooks object per response timeout, shared by every request without a held body: reply-from
// only reads it (it writes `contentType` only into an options object that has a body and none).
const sharedHooks = new Map<number, FastifyReplyFromHooks>()

function hooksFor (timeout: number): FastifyReplyFromHooks {
  let hooks = sharedHooks.get(timeout)
  if (hooks === undefined) {
    hooks = Object.freeze({ getUpstream: upstreamOf, rewriteRequestHeaders, rewriteHeaders, onResponse, onError, retryDelay: noRetry, timeout })
    // A handful of distinct timeouts in any config; a reload may bring new ones, never many.
    if (sharedHooks.size > 64) sharedHooks.clear()
    sharedHooks.set(timeout, hooks)
  }
  return hooks
}

// reply-from calls these with the Fastify request; they are shared by every request.
const upstreamOf: Hook<'getUpstream'> = request => {
  return (request.backend as NonNullable<FastifyRequest['backend']>).origin
}

const rewriteRequestHeaders: Hook<'rewriteRequestHeaders'> = (request, headers) => {
  if (request.method === 'GET' || request.method === 'HEAD') {
    // Fastify never reads a GET body, so none is sent; a length would make the backend wait for it.
    headers['content-length'] = undefined
  }
  // reply-from's own copy of the client's headers, which goes to undici: changed in place.
  const out = forwardRequestHeadersInPlace(headers, request.ip, request.protocol, request.headers.host, request.requestId, (request.upstream as Upstream).options.preserveHost)
  askForTrailers(out, request.headers, (request.upstream as Upstream).options.protocol !== 'http/1.1')
  // The backend gets the routed path (less stripPrefix) and the raw query, byte for byte.
  const url = request.url
  const q = url.indexOf('?')
  const path = (request as GatewayRequest)[kPath]
  carryTarget(out, q === -1 ? path : path + url.slice(q))
  carryPoolKey(out, (request.backend as NonNullable<FastifyRequest['backend']>).poolKey)
  // The attempt is the backend request's abort signal: a client that leaves cancels it.
  const attempt = (request as GatewayRequest)[kAttempt]
  if (attempt !== null) {
    carrySignal(out, attempt)
    // The trace context of this attempt, when tracing follows it (plugins/ops/tracing.ts).
    attempt.observer?.sending(out)
  }
  // The backend's 1xx (103 Early Hints) go on to the client before the final answer.
  const raw = (request as GatewayRequest)[kRaw]
  if (raw !== null) carryInterim(out, raw)
  // Numbers only where reply-from itself put one (content-length), which undici takes as is.
  return out as IncomingHttpHeaders
}

const rewriteHeaders: Hook<'rewriteHeaders'> = (headers, request) => {
  const out = withoutHopByHop(headers)
  if (request !== undefined) {
    out['x-request-id'] = request.requestId
    // reply-from copies these onto the reply before it knows it can pass the answer on (a
    // status outside 100-599 fails after): a gateway error must not go out with them.
    ;(request as GatewayRequest)[kBackendHeaders] = out
  }
  return out as IncomingHttpHeaders
}

function noRetry (): null {
  // Failover is ours (a different server each time); reply-from's own retry reuses the same one.
  return null
}

const onResponse: Hook<'onResponse'> = (request, reply, res) => {
  if (res.statusCode < 100 || res.statusCode > 599) {
    // reply-from failed this answer already (onError: 502, or the next server); it still
    // calls us with it, and its body must neither count as a success nor be sent.
    res.stream.destroy()
    return
  }
  ;(request as GatewayRequest)[kAttempt]?.succeeded(res.statusCode)
  dropTape((request as GatewayRequest)[kSource])
  if (reply.sent) {
    // Answered already (a limit tripped meanwhile): Fastify would leave this body unread,
    // holding the backend connection and its admission slot until the response timeout.
    res.stream.destroy()
    return
  }
  // gRPC's status comes in trailers, which only HTTP/2 carries to the client here.
  if (request.raw.httpVersionMajor === 2 && isGrpc(request.headers)) {
    passTrailers(res.stream, (res as unknown as ProxiedResponse).headers, reply.raw, status => { request.grpcStatus = callStatus(status, res.statusCode) })
  }
  const tap = request.proxyTap
  if (tap === null) {
    // Straight to the client where the route's onSend hooks need no body (./direct-send.ts).
    if (!sendDirect(reply, res.stream)) reply.send(res.stream)
    return
  }
  const body = tap.response(reply, res as unknown as ProxiedResponse)
  if (body !== null) reply.send(body)
}

const onError: Hook<'onError'> = (reply, { error }) => {
  const request = reply.request as unknown as GatewayRequest
  const attempt = request[kAttempt] as Attempt
  const code = errorCode(error)
  dropBackendHeaders(reply)
  if (attempt.aborted || code === CLIENT_GONE_CODE || request.raw.aborted) {
    // The client reset its stream or closed its connection (nginx logs 499): its backend
    // request was cancelled, or failed with the body the client cut. Nothing is charged to
    // the server, nothing retried, and there is no one to answer.
    attempt.release()
    request.log.info({ upstream: attempt.upstream.name, server: attempt.backend?.id }, 'client went away: backend request cancelled')
    return
  }
  if (REFUSED_ON_THE_WAY_OUT.has(code)) {
    // undici refused the request itself (a header value or path it will not send): nothing
    // left, so the server was never involved; the client's request is at fault (400).
    attempt.cancel()
    request.backend = null
    if (bodyPending(request.raw)) closeConnection(reply)
    reply.send(new BadRequestError(undiciMessage(error)))
    return
  }
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    // The body the client sent disagrees with the length it declared: its fault, not the server's.
    attempt.release()
    closeConnection(reply)
    reply.send(new BadRequestError('the request body does not match its content-length'))
    return
  }
  if (code === BODY_TOO_LARGE_CODE) {
    // The upload grew past the route's maxBodySize (plugins/policies/filters/body-size.ts failed the
    // body, which aborted the backend request): the client's doing, as a receive timeout is.
    attempt.release()
    reply.header('connection', 'close').send((error as Error & { cause?: Error }).cause ?? error)
    return
  }
  if (code === CLIENT_ABORTED_CODE) {
    // The body was cut short by the client (a broken chunked framing, an HTTP/2 stream reset
    // mid-upload): the backend request was aborted with it, and the fault is the client's, so
    // nothing is charged to the server or retried; 400 for a client still there to read it.
    attempt.release()
    closeConnection(reply)
    reply.send(new ClientAbortedError())
    return
  }
  if (code === RECEIVE_TIMEOUT_CODE) {
    // The client's upload stalled (plugins/proxy/request-body.ts destroyed the body, which aborted
    // the backend request): the client's doing, so nothing is booked against the server and
    // nothing retried. 408 as nginx answers on client_body_timeout, and the connection goes with it.
    attempt.release()
    closeConnection(reply)
    reply.send(new ReceiveTimeoutError())
    return
  }

  const body = request[kSource] ?? request.body
  const replayable = isReplayable(body)
  // Once the client has an answer under way, or has gone, there is no one to retry for.
  const open = !reply.sent && !request.raw.aborted
  const failure = attempt.failed(code, {
    ifNotSent: open && (replayable || isUnread(body) || replayableFromTape(body)),
    ifSent: open && replayable && IDEMPOTENT.has(request.method)
  })
  logFailure(request.server.log, request.id, attempt, failure, code)
  if (failure.retry) {
    send(reply, request, attempt)
    return
  }
  // An upload the backend never took may still be arriving; closing the connection after
  // this answer spares the client from sending the rest into nothing.
  if (bodyPending(request.raw)) closeConnection(reply)
  fail(reply, request, failure.error)
}

function fail (reply: ProxyReply, request: GatewayRequest, error: Error): void {
  if (request.proxyTap?.failed(reply, error) !== true) reply.send(error)
}

// undici's refusals of a request it was handed: InvalidArgumentError (a header value or a
// path with bytes it will not put on the wire) and NotSupportedError (such as `expect`).
const REFUSED_ON_THE_WAY_OUT = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED'])

function undiciMessage (error: Error): string {
  return (error as Error & { cause?: Error }).cause?.message ?? error.message
}

/**
 * Takes the backend's answer headers off a reply that will carry a gateway error instead
 * (a status it cannot pass on, a body that failed before its first byte): the error goes
 * out with Gatehouse's own headers only. False when no backend answered (nothing to drop).
 */
export function dropBackendHeaders (reply: { request: unknown, raw: { headersSent: boolean, removeHeader (name: string): void }, removeHeader (name: string): unknown, header (name: string, value: string): unknown }): boolean {
  const request = reply.request as GatewayRequest
  const headers = request[kBackendHeaders]
  if (headers === null || headers === undefined) return false
  request[kBackendHeaders] = null
  // Fastify copies the reply's headers onto the raw response when it starts a stream.
  const raw = reply.raw.headersSent ? null : reply.raw
  for (const name in headers) {
    reply.removeHeader(name)
    raw?.removeHeader(name)
  }
  reply.header('x-request-id', request.requestId)
  return true
}

/**
 * The status a gRPC client reads from the backend's answer: its grpc-status; without one, what
 * the gRPC spec has a client make of the HTTP status (an HTTP/1.1 backend's 503 is UNAVAILABLE);
 * '' for a 200 that ended without a status (a broken backend: the client sees no status).
 */
function callStatus (status: string | string[] | undefined, httpStatus: number): string {
  if (status !== undefined) return Array.isArray(status) ? status[0] ?? '' : status
  return httpStatus === 200 ? '' : String(grpcStatusOf(undefined, httpStatus))
}

function errorCode (error: Error): string {
  return failureCode(error)
}

function releaseOnClose (this: RawWithAttempt): void {
  const attempt = this[kAttempt]
  if (attempt === undefined) return
  // Closed before the answer ended: the client reset its stream or closed its connection.
  // Whatever is still queued or in flight for it is cancelled (nginx's proxy_ignore_client_abort off).
  if (!this.writableEnded) attempt.abort()
  attempt.release()
}

export default fp(forward, { fastify: '5.x', name: 'gatehouse-forward', dependencies: ['gatehouse-request-state', 'gatehouse-request-id'] })
