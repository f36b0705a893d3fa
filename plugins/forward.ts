import fp from 'fastify-plugin'
import replyFrom, { type FastifyReplyFromHooks, type FastifyReplyFromOptions } from '@fastify/reply-from'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Readable } from 'node:stream'
import type { IncomingHttpHeaders } from 'node:http'
import type { Upstream } from '../lib/upstream'
import type { UpstreamRegistry } from '../lib/upstream-registry'
import { Attempt } from '../lib/attempt'
import { logFailure } from '../lib/attempt-log'
import { BodyView } from '../lib/body-view'
import { BadRequestError, BODY_TOO_LARGE_CODE, RECEIVE_TIMEOUT_CODE, ReceiveTimeoutError } from '../lib/errors'
import { forwardRequestHeaders, withoutHopByHop } from '../lib/forward-headers'
import { carryTarget } from '../lib/upstream-target'
import { bodyPending, closeConnection } from '../lib/close-connection'
import { isReplayable, isStream, isUnread } from './request-body'

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

/** A look at the outcome of a forwarded request before the client gets it (plugins/cache.ts). */
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

interface ForwardState {
  /** The request's way through its group; also hung on the raw response, to release it on close. */
  [kAttempt]: Attempt | null
  [kPath]: string
  /** The streamed request body, when it is one; request.body is then a view of it per attempt. */
  [kSource]: Readable | null
}

type GatewayRequest = FastifyRequest & ForwardState
type RawWithAttempt = FastifyReply['raw'] & { [kAttempt]?: Attempt }

/**
 * HTTP proxying with failover: reply-from on our undici pools sends each attempt, and an
 * Attempt (lib/attempt.ts) decides which server gets it and whether a failed one goes on.
 */
async function forward (fastify: FastifyInstance, opts: ForwardOptions) {
  // No `base`: a base given here would override the origin getUpstream returns per request.
  await fastify.register(replyFrom, {
    // reply-from's types name its own undici 7; it only calls request(), which undici 8 keeps.
    undici: opts.registry.pools as unknown as FastifyReplyFromOptions['undici'],
    disableRequestLogging: true
  } satisfies FastifyReplyFromOptions)

  fastify.decorateRequest(kAttempt, null)
  fastify.decorateRequest(kPath, '')
  fastify.decorateRequest(kSource, null)
  fastify.decorateRequest('proxyTap', null)

  fastify.decorateReply('forward', function (this: FastifyReply, upstream: Upstream, path: string) {
    const request = this.request as GatewayRequest
    const attempt = new Attempt(upstream, request, request.preferredBackend)
    request.upstream = upstream
    request[kAttempt] = attempt
    request[kPath] = path
    ;(this.raw as RawWithAttempt)[kAttempt] = attempt
    // `on`, not `once`: a response closes once, and release() is safe to call twice anyway.
    this.raw.on('close', releaseOnClose)
    send(this, request, attempt)
  })
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
    // Each attempt reads the streamed body through a view of its own (see lib/body-view.ts).
    request[kSource] ??= body
    body = request.body = new BodyView(request[kSource])
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
  // Numbers only where reply-from itself put one (content-length), which undici takes as is.
  return out as IncomingHttpHeaders
}

const rewriteHeaders: Hook<'rewriteHeaders'> = (headers, request) => {
  const out = withoutHopByHop(headers)
  if (request !== undefined) out['x-request-id'] = request.requestId
  return out as IncomingHttpHeaders
}

function noRetry (): null {
  // Failover is ours (a different server each time); reply-from's own retry reuses the same one.
  return null
}

const onResponse: Hook<'onResponse'> = (request, reply, res) => {
  ;(request as GatewayRequest)[kAttempt]?.succeeded()
  if (reply.sent) {
    // Answered already (a limit tripped meanwhile): Fastify would leave this body unread,
    // holding the backend connection and its admission slot until the response timeout.
    res.stream.destroy()
    return
  }
  const tap = request.proxyTap
  const body = tap === null ? res.stream : tap.response(reply, res as unknown as ProxiedResponse)
  if (body !== null) reply.send(body)
}

const onError: Hook<'onError'> = (reply, { error }) => {
  const request = reply.request as unknown as GatewayRequest
  const attempt = request[kAttempt] as Attempt
  const code = errorCode(error)
  if (code === BODY_TOO_LARGE_CODE) {
    // The upload grew past the route's maxBodySize (plugins/filters/body-size.ts failed the
    // body, which aborted the backend request): the client's doing, as a receive timeout is.
    attempt.release()
    reply.header('connection', 'close').send((error as Error & { cause?: Error }).cause ?? error)
    return
  }
  if (code === RECEIVE_TIMEOUT_CODE) {
    // The client's upload stalled (plugins/request-body.ts destroyed the body, which aborted
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
    ifNotSent: open && (replayable || isUnread(body)),
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

function errorCode (error: Error): string {
  const { code, cause } = error as Error & { code?: string, cause?: { code?: string } }
  return cause?.code ?? code ?? ''
}

function releaseOnClose (this: RawWithAttempt): void {
  this[kAttempt]?.release()
}

export default fp(forward, { fastify: '5.x', name: 'gatehouse-forward', dependencies: ['gatehouse-request-state', 'gatehouse-request-id'] })
