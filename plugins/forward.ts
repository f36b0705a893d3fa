import fp from 'fastify-plugin'
import replyFrom from '@fastify/reply-from'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest, RawServerBase, onResponseHookHandler } from 'fastify'
import type { Backend } from '../lib/backend'
import type { Upstream } from '../lib/upstream'
import type { UpstreamRegistry } from '../lib/upstream-registry'
import { forwardRequestHeaders, withoutHopByHop } from '../lib/forward-headers'
import { BadRequestError, NoServerAvailableError, QueueTimeoutError, RECEIVE_TIMEOUT_CODE, ReceiveTimeoutError } from '../lib/errors'
import { QUEUE_TIMEOUT_CODE } from '../lib/origin-pools'
import { gatewayError, neverSent } from '../lib/attempt-failure'
import { toArray } from '../lib/to-array'
import { isReplayable, isStream, isUnread } from './request-body'
import { BodyView } from '../lib/body-view'
import { carryTarget } from '../lib/upstream-target'
import type { Readable } from 'node:stream'

declare module 'fastify' {
  interface FastifyRequest {
    /** The server chosen for the current (or last) attempt; what reply-from sends to. */
    backend: Backend | null
    /** The group the route sends to. */
    upstream: Upstream | null
    /** A server the sticky policy would like, by id; honoured only while it is ready. */
    preferredBackend: string | null
    /** x-request-id: the client's, or one made up for it; sent on and returned. */
    requestId: string
  }
  interface FastifyReply {
    /** Proxies the request to `upstream`, at `path` (the path and no query), with failover. */
    forward (upstream: Upstream, path: string): void
  }
}

export interface ForwardOptions {
  registry: UpstreamRegistry
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])

const kTried = Symbol('gatehouse.tried')
const kPath = Symbol('gatehouse.path')
const kCounted = Symbol('gatehouse.counted')
const kSource = Symbol('gatehouse.source')
const kLastError = Symbol('gatehouse.lastError')
const kRequest = Symbol('gatehouse.request')

interface AttemptState {
  /** Servers this request was already sent to, when an attempt failed. */
  [kTried]: Backend[] | null
  /** What the client gets if no other server is left to try. */
  [kLastError]: Error | null
  [kPath]: string
  [kCounted]: boolean
  /** The streamed request body, when it is one; request.body is then a view of it per attempt. */
  [kSource]: Readable | null
}

type GatewayRequest = FastifyRequest & AttemptState

async function forward (fastify: FastifyInstance, opts: ForwardOptions) {
  // No `base`: a base given here would override the origin getUpstream returns per request.
  await fastify.register(replyFrom, {
    undici: opts.registry.pools as never,
    disableRequestLogging: true
  })

  fastify.decorateRequest('backend', null)
  fastify.decorateRequest('upstream', null)
  fastify.decorateRequest('preferredBackend', null)
  fastify.decorateRequest('requestId', '')
  fastify.decorateRequest(kPath, '')
  fastify.decorateRequest(kCounted, false)
  fastify.decorateRequest(kSource, null)
  fastify.decorateRequest(kTried, null)
  fastify.decorateRequest(kLastError, null)

  fastify.addHook('onRequest', (request, reply, done) => {
    const incoming = request.headers['x-request-id']
    request.requestId = typeof incoming === 'string' && incoming.length > 0 && incoming.length <= 200 ? incoming : randomUUID()
    reply.header('x-request-id', request.requestId)
    done()
  })

  // While closing, every answer ends its connection: Fastify closes the keep-alive connections
  // idle when close() starts, but one whose request was still in flight would otherwise stay
  // open after its answer and hold the close until the client lets go.
  let closing = false
  fastify.addHook('preClose', (done) => {
    closing = true
    done()
  })
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })

  // The access line and the counts hang on each gateway route, with its config in the
  // closure: reading request.routeOptions per request would build a fresh object each time.
  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    if (route === undefined) return
    const accessLog: onResponseHookHandler = (request, reply, done) => {
      // A request a policy refused (429) never reached the handler; it is logged and counted all the same.
      const upstream = request.upstream ?? fastify.gatehouse.registry.get(route.upstream)
      if (upstream !== undefined) upstream.responses[Math.floor(reply.statusCode / 100)]++
      // The instance logger: the route's own logger is held at "warn" (see routes/proxy.ts).
      fastify.log.info({
        reqId: request.id,
        upstream: route.upstream,
        server: request.backend?.id,
        status: reply.statusCode,
        responseTime: reply.elapsedTime,
        requestId: request.requestId
      }, request.upstream === null ? 'refused' : 'proxied')
      done()
    }
    routeOptions.onResponse = [...toArray(routeOptions.onResponse), accessLog]
  })

  fastify.decorateReply('forward', function (this: FastifyReply, upstream: Upstream, path: string) {
    const request = this.request as GatewayRequest
    request.upstream = upstream
    request[kPath] = path
    upstream.budget.recordRequest()
    ;(this.raw as unknown as Record<symbol, unknown>)[kRequest] = request
    this.raw.once('close', releaseOnClose)
    attempt(this, request)
  })
}

function attempt (reply: FastifyReply, request: GatewayRequest): void {
  const upstream = request.upstream as Upstream
  const tried = request[kTried] ?? undefined
  const preferred = request.preferredBackend === null ? undefined : upstream.backends.get(request.preferredBackend)
  const backend = upstream.select(request, { tried, preferred })
  if (backend === undefined) {
    answerNoServer(reply, upstream, request[kLastError] ?? undefined)
    return
  }
  request.backend = backend
  request[kCounted] = true
  backend.inflight++
  backend.attempts++

  let body = request.body
  const held = Buffer.isBuffer(body) && request.method !== 'GET' && request.method !== 'HEAD'
  if (!held && isStream(body)) {
    // Each attempt reads the streamed body through a view of its own (see lib/body-view.ts).
    request[kSource] ??= body
    body = request.body = new BodyView(request[kSource])
  }
  try {
    send(reply, request, upstream, body, held)
  } catch (err) {
    // reply-from refuses some paths outright (a ".." segment, broken percent-encoding): the client's fault.
    release(request)
    reply.send(new BadRequestError((err as Error).message))
  }
}

function send (reply: FastifyReply, request: GatewayRequest, upstream: Upstream, body: unknown, held: boolean): void {
  reply.from(request[kPath], {
    getUpstream: upstreamOf,
    rewriteRequestHeaders,
    rewriteHeaders,
    onResponse,
    onError,
    retryDelay: noRetry,
    timeout: upstream.options.timeouts.response,
    // reply-from would JSON-encode a Buffer body of a JSON request; handing it over as an
    // explicit body with the client's own content type sends the bytes unchanged.
    ...(held ? { body, contentType: request.headers['content-type'] ?? 'application/octet-stream' } : undefined)
  } as never)
}

// reply-from calls these with the Fastify request; they are shared by every request.
function upstreamOf (request: FastifyRequest): string {
  return (request.backend as Backend).origin
}

function rewriteRequestHeaders (request: FastifyRequest, headers: Record<string, string | string[] | undefined>) {
  if (request.method === 'GET' || request.method === 'HEAD') {
    // Fastify never reads a GET body, so none is sent; a length would make the backend wait for it.
    headers['content-length'] = undefined
  }
  const out = forwardRequestHeaders(headers, {
    ip: request.ip,
    protocol: request.protocol,
    host: request.headers.host,
    requestId: request.requestId
  }, (request.upstream as Upstream).options.preserveHost)
  // The backend gets the routed path (less stripPrefix) and the raw query, byte for byte.
  const url = request.url
  const q = url.indexOf('?')
  const path = (request as GatewayRequest)[kPath]
  carryTarget(out, q === -1 ? path : path + url.slice(q))
  return out as Record<string, string>
}

function rewriteHeaders (headers: Record<string, string | string[] | undefined>, request?: FastifyRequest) {
  const out = withoutHopByHop(headers)
  if (request !== undefined) out['x-request-id'] = request.requestId
  return out
}

function noRetry (): null {
  // Failover is ours (a different server each time); reply-from's own retry reuses the same one.
  return null
}

function onResponse (request: FastifyRequest, reply: FastifyReply, res: { stream: NodeJS.ReadableStream }): void {
  const backend = request.backend as Backend
  ;(request.upstream as Upstream).backends.recordSuccess(backend)
  if (reply.sent) {
    // Answered already (a limit tripped meanwhile): Fastify would leave this body unread,
    // holding the backend connection and its admission slot until the response timeout.
    ;(res.stream as Readable).destroy()
    return
  }
  reply.send(res.stream)
}

function onError (reply: FastifyReply, { error }: { error: Error & { cause?: { code?: string }, code?: string } }): void {
  const request = reply.request as GatewayRequest
  const upstream = request.upstream as Upstream
  const backend = request.backend as Backend
  release(request)

  const code = error.cause?.code ?? error.code ?? ''
  if (code === RECEIVE_TIMEOUT_CODE) {
    answerStalledUpload(reply)
    return
  }
  const mapped = code === QUEUE_TIMEOUT_CODE ? queueTimedOut(upstream) : failAttempt(request, upstream, backend, code)
  const tried = request[kTried] ?? (request[kTried] = [])
  tried.push(backend)
  request[kLastError] = mapped

  const body = request[kSource] ?? request.body
  const safe = neverSent(code)
    ? isReplayable(body) || isUnread(body)
    : IDEMPOTENT.has(request.method) && isReplayable(body)
  if (!reply.sent && !request.raw.aborted && safe && upstream.mayRetry(tried.length)) {
    request.server.log.info({ reqId: request.id, upstream: upstream.name, server: backend.id, reason: code }, 'retrying on another server')
    attempt(reply, request)
    return
  }
  // An upload the backend never took may still be arriving; closing the connection after
  // this answer spares the client from sending the rest into nothing.
  if (!request.raw.complete) reply.header('connection', 'close')
  sendFailure(reply, mapped)
}

/**
 * The client's upload stalled (plugins/request-body.ts destroyed the body, which aborted the
 * backend request): the client's doing, so nothing is booked against the server and nothing
 * retried. 408 as nginx answers on client_body_timeout, and the connection goes with it.
 */
function answerStalledUpload (reply: FastifyReply): void {
  reply.header('connection', 'close').send(new ReceiveTimeoutError())
}

/**
 * No connection to the server became free within `timeouts.queue`. The server is busy, not
 * failing: it is not counted towards passive ejection (ejecting busy servers would crowd the
 * rest), only in the group's queue-timeout count. Nothing was sent, so failover may apply.
 */
function queueTimedOut (upstream: Upstream): Error {
  upstream.queueTimeouts++
  return new QueueTimeoutError(upstream.name)
}

/** The final failure of a request; a full queue is worth retrying soon, as HAProxy's 503 says. */
function sendFailure (reply: FastifyReply, failure: Error): void {
  if (failure instanceof QueueTimeoutError) reply.header('retry-after', '1')
  reply.send(failure)
}

/**
 * Books a failed attempt on its server (counts, passive ejection, one warning when it
 * ejects) and returns what the client gets if no retry follows. Shared with the WebSocket tunnel.
 */
export function failAttempt (request: FastifyRequest, upstream: Upstream, backend: Backend, code: string): Error {
  if (upstream.attemptFailed(backend, Date.now())) {
    request.log.warn({ upstream: upstream.name, server: backend.id, reason: code, failTimeout: upstream.options.passive.failTimeout }, 'server ejected after failed attempts')
  }
  return gatewayError(code, upstream.name)
}

/**
 * No server may take the request. After failed attempts the last failure is the answer;
 * with none, nothing is worth waiting for: 503 at once (issue #3).
 */
export function answerNoServer (reply: FastifyReply, upstream: Upstream, lastFailure: Error | undefined): void {
  if (lastFailure !== undefined) sendFailure(reply, lastFailure)
  else reply.header('retry-after', '1').send(new NoServerAvailableError(upstream.name))
}

function release (request: GatewayRequest): void {
  if (request[kCounted]) {
    request[kCounted] = false
    ;(request.backend as Backend).inflight--
  }
}

function releaseOnClose (this: RawServerBase): void {
  release((this as unknown as Record<symbol, GatewayRequest>)[kRequest])
}

export default fp(forward, { fastify: '5.x', name: 'gatehouse-forward' })
