import type { ClientHttp2Session } from 'node:http2'
import type { Socket } from 'node:net'
import { onUndiciConnected, undiciSymbols as symbols } from './undici-internals'

const kClient = symbols.kClient
const kSocket = symbols.kSocket
const kHTTPContext = symbols.kHTTPContext
const kHTTP2Session = symbols.kHTTP2Session
const kResume = symbols.kResume
const kUrl = symbols.kUrl

// undici 7's listeners on a session and its socket, by their function names.
const SESSION_LISTENERS: Record<string, string> = {
  close: 'onHttp2SessionClose',
  error: 'onHttp2SessionError',
  frameError: 'onHttp2FrameError',
  remoteSettings: 'onHttp2RemoteSettings'
}
const SOCKET_LISTENERS: Record<string, string> = {
  close: 'onHttp2SocketClose',
  error: 'onHttp2SocketError'
}

type Client = Record<symbol, unknown> & { emit (event: string, ...args: unknown[]): boolean }
type Session = ClientHttp2Session & Record<symbol, unknown>

let installed = false
const seen = new WeakSet<object>()

/**
 * A backend's graceful GOAWAY (NO_ERROR) drains its connection instead of cutting it, as
 * RFC 9113 §6.8 means it and as nginx and Envoy take it: the streams it will still answer (up
 * to its last-stream-id) finish on the old connection, and new requests go to a fresh one.
 * undici 7 destroyed the connection's socket on GOAWAY, failing every request in flight on
 * it, and put some of them back in its queue to be sent a second time. Here its GOAWAY
 * listener is replaced for a graceful GOAWAY: the session is taken off its client (whose next
 * request connects anew), Node closes it once its last stream ends, and undici's close and
 * error listeners, which would reset the client's new connection, are taken off the old one.
 * Streams above last-stream-id are closed by nghttp2 with REFUSED_STREAM, which the
 * forwarder retries (lib/proxy/attempt-failure.ts). A GOAWAY with an error code is left
 * to undici: Node destroys the session at once then, and the requests on it fail.
 * Installed once per process, for every HTTP/2 session undici opens, as it is connected
 * (undici's 'undici:client:connected' channel), so that a GOAWAY before the first stream
 * (a backend that drains a connection it has just accepted) is handled too.
 */
export function drainOnGoaway (): void {
  if (installed) return
  installed = true
  onUndiciConnected(socket => {
    // Another copy of undici (Node's own fetch) publishes here too: its sockets have no session under this copy's symbol.
    const session = socket[kHTTP2Session] as Session | undefined
    if (session === undefined || session === null || seen.has(session)) return
    seen.add(session)
    const undiciGoaway = named(session, 'goaway', 'onHttp2SessionGoAway')
    if (undiciGoaway === undefined || session[kClient] === undefined) return
    session.removeListener('goaway', undiciGoaway)
    session.on('goaway', function (this: Session, code: number, ...rest: unknown[]) {
      if (code !== 0) return undiciGoaway.call(this, code, ...rest)
      detach(this)
    })
  })
}

const detached = new WeakSet<object>()

function detach (session: Session): void {
  // A draining peer may send GOAWAY more than once (a lower last-stream-id, or as it closes).
  if (detached.has(session)) return
  detached.add(session)
  const client = session[kClient] as Client
  const socket = session[kSocket] as Socket
  if (client[kHTTP2Session] === session) {
    client[kSocket] = null
    client[kHTTPContext] = null
    client[kHTTP2Session] = null
  }
  for (const event in SESSION_LISTENERS) unlisten(session, event, SESSION_LISTENERS[event])
  for (const event in SOCKET_LISTENERS) unlisten(socket, event, SOCKET_LISTENERS[event])
  // Errors of a draining connection are its streams' own, which their requests report.
  session.on('error', noop)
  socket.on('error', noop)
  socket.once('close', () => { client.emit('disconnect', client[kUrl], [client], new Error('HTTP/2 GOAWAY: connection drained')) })
  ;(client[kResume] as () => void).call(client)
}

function named (emitter: NodeJS.EventEmitter, event: string, name: string): ((...args: unknown[]) => void) | undefined {
  return emitter.listeners(event).find(f => f.name === name) as ((...args: unknown[]) => void) | undefined
}

function unlisten (emitter: NodeJS.EventEmitter, event: string, name: string): void {
  const listener = named(emitter, event, name)
  if (listener !== undefined) emitter.removeListener(event, listener)
}

function noop (): void {}
