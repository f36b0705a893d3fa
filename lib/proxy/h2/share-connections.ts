import { errors } from 'undici'
import { onUndiciConnected, undiciSymbols as symbols, undiciUtil as util } from './undici-internals'

const kClient = symbols.kClient
const kHTTPContext = symbols.kHTTPContext
const kHTTP2Session = symbols.kHTTP2Session
const kRunning = symbols.kRunning
const kSize = symbols.kSize
const kPipelining = symbols.kPipelining
const kMaxConcurrentStreams = symbols.kMaxConcurrentStreams
const kResume = symbols.kResume

interface UndiciRequest { method: string, upgrade?: string | null, body: unknown, contentLength?: number | null, aborted?: boolean }
interface HttpContext { version: string, busy (request: UndiciRequest | null): boolean | undefined, write (request: UndiciRequest): boolean }
type Client = Record<symbol, unknown>

let installed = false
// Requests an HTTP/2 connection has started: undici never gets to send one a second time.
const written = new WeakSet<object>()

/**
 * Requests of any method and body share an HTTP/2 connection, up to the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS (and the pool's `pipelining`), as Envoy and HAProxy multiplex
 * them (nginx's grpc_pass does not: one call per upstream connection). undici 7 sent a request
 * with a streamed body or a non-idempotent method (every gRPC call: a POST with a streamed
 * body) only on a connection with nothing else in flight, so N calls at once took N
 * connections, each with its own socket, session, SETTINGS and windows. undici's two reasons
 * hold for HTTP/1.1 and not here:
 * - a body that fails half-sent breaks an HTTP/1.1 connection's framing and its neighbours;
 *   on HTTP/2 it resets its own stream only (undici's own abort closes the stream and keeps
 *   the session: client-h2.js), and each stream has its own flow-control window (Node gives
 *   the connection's window back as data arrives, so a stream its client does not read holds
 *   its own window only: test/grpc/unary.test.ts);
 * - a request in flight on a connection that fails could be sent again (undici puts the
 *   requests it had running back in its queue when the connection closes; their streams'
 *   errors normally fail them first, test/grpc/retry.test.ts): a request that has been
 *   written once is refused a second write here all the same, so it fails with the connection,
 *   and whether it goes again is the forwarder's call alone (REFUSED_STREAM, GOAWAY
 *   above last-stream-id: lib/proxy/attempt-failure.ts), as it was with one call a connection.
 * The client also counts as busy to its Pool once the connection carries as many streams as
 * the server allows, so the Pool hands the next request to another connection (up to the
 * group's `connections`) instead of queueing it behind a full one.
 * Installed once per process, for every HTTP/2 connection undici makes, as it connects
 * (undici's 'undici:client:connected' channel), beside lib/proxy/h2/goaway.ts.
 */
export function shareConnections (): void {
  if (installed) return
  installed = true
  onUndiciConnected(socket => {
    // Another copy of undici (Node's own fetch) publishes here too: its sockets carry nothing under this copy's symbols.
    const client = socket[kClient] as Client | undefined
    const context = client?.[kHTTPContext] as HttpContext | null | undefined
    if (client === undefined || context === undefined || context === null || context.version !== 'h2') return
    share(client, context)
    const session = socket[kHTTP2Session] as NodeJS.EventEmitter | undefined
    // A server's SETTINGS may raise the limit requests are waiting on.
    session?.on('remoteSettings', () => { (client[kResume] as () => void).call(client) })
  })
}

function share (client: Client, context: HttpContext): void {
  const busy = context.busy
  const write = context.write
  context.busy = function (request) {
    if (request === null) return busy.call(this, null) === true || (client[kSize] as number) >= limit(client)
    // undici's own rule stays for what it guards beyond a streamed body: an upgrade or CONNECT
    // before the server's SETTINGS, and a streamed body declared empty (its writer asserts it runs alone).
    if (request.upgrade != null || request.method === 'CONNECT' || request.contentLength === 0 || util.bodyLength(request.body) === 0) {
      return busy.call(this, request)
    }
    return (client[kRunning] as number) >= limit(client)
  }
  context.write = function (request) {
    if (written.has(request)) {
      // The connection it was on failed with it in flight: a backend may have read it.
      if (request.aborted !== true) util.errorRequest(client, request, new errors.SocketError('the HTTP/2 connection closed with the request in flight'))
      return false
    }
    written.add(request)
    return write.call(this, request)
  }
}

function limit (client: Client): number {
  const pipelining = (client[kPipelining] as number | null | undefined) ?? 1
  const server = (client[kMaxConcurrentStreams] as number | undefined) ?? pipelining
  return Math.max(1, Math.min(pipelining, server))
}
