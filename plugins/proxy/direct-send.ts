import type { FastifyInstance, FastifyReply, onSendHookHandler } from 'fastify'
import type { Readable } from 'node:stream'
import type { OutgoingHttpHeaders } from 'node:http'
import { toArray } from '../../lib/to-array'

/**
 * Writes a backend's answer stream to the client's response itself instead of through
 * Fastify's reply pipeline (`reply.send(stream)`: a content-type parse, the onSend runner,
 * two end-of-stream watchers and `pipe`, about eight closures and a dozen listeners per
 * answer), where nothing on the way needs the body: every onSend hook the route runs is
 * declared body-blind (it only reads or sets headers, and calls `done` at once with the
 * payload unchanged). Those hooks still run, in Fastify's order, before the headers go out;
 * a route with any other onSend hook (compression, a host's own) keeps Fastify's way.
 * Everything else Fastify does for an answer is outside this path and stays: its response
 * listeners (the onResponse hooks: access log, metrics) are set when the request starts.
 *
 * It reads Fastify's own symbols (fastify/lib/symbols.js): the route's context with its
 * bound onSend hooks, the instance's hook lists, the reply's headers and trailers. Should a
 * Fastify version not have them, no route qualifies and every answer goes through reply.send.
 */
const symbols = require('fastify/lib/symbols') as Record<string, symbol | undefined>
const kRouteContext = symbols.kRouteContext
const kHooks = symbols.kHooks
const kReplyHeaders = symbols.kReplyHeaders
const kReplyTrailers = symbols.kReplyTrailers
const kReplyIsError = symbols.kReplyIsError

const bodyBlind = new WeakSet<object>()

/** Declares an onSend hook body-blind (see above); returns it. */
export function bodyBlindHook<T extends onSendHookHandler> (hook: T): T {
  bodyBlind.add(hook)
  return hook
}

/**
 * Declares body-blind the onSend hooks a plugin added to `fastify` during `register` (a
 * library's, whose function is not exported). `register` is awaited before the hooks are read.
 */
export async function withBodyBlindHooks (fastify: FastifyInstance, register: () => PromiseLike<unknown>): Promise<void> {
  const hooks = kHooks === undefined ? undefined : (fastify as unknown as Record<symbol, { onSend: object[] } | undefined>)[kHooks]
  const before = hooks?.onSend.length ?? 0
  await register()
  if (hooks !== undefined) for (const hook of hooks.onSend.slice(before)) bodyBlind.add(hook)
}

const kRouteOnSend = Symbol('gatehouse.routeOnSend')
const kDirect = Symbol('gatehouse.directSend')

interface RouteContext {
  onSend: Array<(...args: unknown[]) => unknown> | null
  config: Record<string | symbol, unknown> | undefined
  server: Record<symbol, { onSend: object[] } | undefined>
  [kDirect]?: boolean
}

type AnyReply = FastifyReply & Record<symbol, unknown>

/**
 * Notes each gateway route's own onSend hooks as the routes are declared. Fastify binds
 * every hook to its instance, so the route's bound hooks cannot be told apart later; the
 * originals are the instance's list then the route's, as Fastify concatenates them. Register
 * after every plugin that hangs route hooks (the pipeline): a later one makes the count differ,
 * and the route goes Fastify's way.
 */
export function noteRouteHooks (fastify: FastifyInstance): void {
  fastify.addHook('onRoute', routeOptions => {
    const config = routeOptions.config as Record<string | symbol, unknown> | undefined
    if (config?.gatehouse === undefined) return
    config[kRouteOnSend] = [...toArray(routeOptions.onSend as onSendHookHandler | onSendHookHandler[] | undefined)]
  })
}

function writesDirect (context: RouteContext): boolean {
  let verdict = context[kDirect]
  if (verdict === undefined) {
    const own = context.config?.[kRouteOnSend] as object[] | undefined
    const shared = kHooks === undefined ? undefined : context.server?.[kHooks]?.onSend
    if (own === undefined || shared === undefined) {
      verdict = false
    } else {
      const all = shared.concat(own)
      verdict = (context.onSend?.length ?? 0) === all.length && all.every(hook => bodyBlind.has(hook))
    }
    // Hooks are fixed once the server is ready: decided on a route's first answer, kept.
    context[kDirect] = verdict
  }
  return verdict
}

// The one hook's outcome: body-blind hooks call done synchronously, so one slot serves all.
let hookCalled = false
let hookError: Error | null = null
function hookDone (err?: Error | null): void {
  hookCalled = true
  hookError = err ?? null
}

/**
 * Sends `source` as the answer's body directly when the route allows it (see above): true
 * when it did, false when the caller is to `reply.send(source)` as before. Answers without a
 * body by their status (1xx, 204), replies with trailers set through Fastify, and a reply
 * already marked as an error keep Fastify's way.
 */
// `given` is any server's reply (reply-from types its hooks' reply for every raw server); what is used of it is the same.
export function sendDirect (given: object, source: Readable): boolean {
  if (kRouteContext === undefined || kReplyHeaders === undefined) return false
  const reply = given as FastifyReply
  const r = reply as AnyReply
  const context = r[kRouteContext] as RouteContext | undefined
  if (context === undefined || !writesDirect(context)) return false
  const res = reply.raw
  const status = res.statusCode
  if (status < 200 || status === 204 || res.headersSent || r[kReplyTrailers as symbol] != null || r[kReplyIsError as symbol] === true) return false
  const request = reply.request
  const hooks = context.onSend
  if (hooks !== null) {
    for (let i = 0; i < hooks.length; i++) {
      hookCalled = false
      hookError = null
      try {
        hooks[i](request, reply, source, hookDone)
      } catch (err) {
        hookCalled = true
        hookError = err as Error
      }
      if (hookError !== null || !hookCalled) {
        // As Fastify on a failed onSend hook: the error goes to the error handler, the body is dropped.
        const error = hookError ?? new Error('a body-blind onSend hook did not call done at once')
        hookError = null
        source.destroy()
        reply.send(error)
        return true
      }
    }
  }
  pump(source, reply, r[kReplyHeaders] as OutgoingHttpHeaders)
  return true
}

const kReply = Symbol('gatehouse.directReply')
const kSource = Symbol('gatehouse.directSource')
const kWaiting = Symbol('gatehouse.directWaiting')
const kHead = Symbol('gatehouse.directHead')

type Source = Readable & { [kReply]: FastifyReply, [kWaiting]: boolean, [kHead]: OutgoingHttpHeaders | null }
type Res = FastifyReply['raw'] & { [kSource]: Source }

/**
 * Readable#pipe's loop without its bookkeeping: each chunk is written, a full response pauses
 * the source until 'drain' (the 'pause' and 'resume' the send watch reads), the end ends the
 * response. The handlers are shared functions reading the pair from each other, so an answer
 * costs no closures.
 *
 * The head goes out with the first chunk (or the end), by writeHead with the reply's header
 * object, instead of a setHeader per header: Node then stores no copy of each header with its
 * lower-cased name. Until then nothing is committed, so a body that fails before its first byte
 * still becomes a gateway error (the error handler takes the backend's headers off the reply).
 */
function pump (source: Readable, reply: FastifyReply, head: OutgoingHttpHeaders): void {
  const s = source as Source
  const res = reply.raw as Res
  s[kReply] = reply
  s[kWaiting] = false
  s[kHead] = head
  res[kSource] = s
  res.on('close', onResClose)
  s.on('data', onData)
  s.once('end', onEnd)
  // Kept after the end too: an error without a listener would end the process.
  s.on('error', onSourceError)
}

/** False when Node refused a header (a value it will not put on the wire): the source is failed with it. */
function writeHead (source: Source, res: FastifyReply['raw']): boolean {
  const head = source[kHead]
  if (head === null) return true
  try {
    res.writeHead(res.statusCode, head)
    source[kHead] = null
    return true
  } catch (err) {
    source.destroy(err as Error)
    return false
  }
}

function onData (this: Source, chunk: Buffer): void {
  const res = this[kReply].raw
  if (this[kHead] !== null && !writeHead(this, res)) return
  if (!res.write(chunk) && !this[kWaiting]) {
    this[kWaiting] = true
    this.pause()
    res.once('drain', onDrain)
  }
}

function onDrain (this: Res): void {
  const source = this[kSource]
  source[kWaiting] = false
  source.resume()
}

function onEnd (this: Source): void {
  const res = this[kReply].raw
  // A refused header fails the source (onSourceError answers with a gateway error instead).
  if (this[kHead] !== null && !writeHead(this, res)) return
  res.end()
}

function onSourceError (this: Source, err: Error): void {
  const reply = this[kReply]
  const res = reply.raw
  this.removeListener('data', onData)
  this[kHead] = null
  if (res.writableEnded) return
  if (res.headersSent || reply.request.raw.aborted) {
    // Part of the answer is out: the client can only be told by the connection ending (as Fastify does).
    reply.log.warn({ err }, 'response terminated with an error with headers already sent')
    res.destroy()
    return
  }
  // Nothing sent yet: the error handler answers with a gateway error of its own.
  reply.send(err)
}

function onResClose (this: Res): void {
  const source = this[kSource]
  if (source.readableEnded || source.destroyed) return
  // The client went before the answer ended: the backend's body is dropped (its request aborted).
  if (this.headersSent && !this.writableFinished) source[kReply].log.info('stream closed prematurely')
  source.destroy()
}
