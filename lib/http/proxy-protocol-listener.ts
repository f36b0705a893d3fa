import type { Server, Socket } from 'node:net'
import type { IpList } from '../filters/ip-list'
import { parseProxyHeader, type ProxyAddress } from './proxy-protocol-header'

export interface ProxyProtocolOptions {
  /** Peers (the balancers) whose connections must start with a header; no one else may send one. */
  from: IpList
  /** A connection whose header (or, from anyone else, whose first bytes) has not arrived by then is closed. */
  headersTimeout: number
  /** Called for each connection closed here, with why (for the count and the log). */
  rejected: (reason: ProxyRejection, detail: string, peer: string | undefined) => void
}

/** Why a connection was closed before the HTTP server saw it. */
export type ProxyRejection = 'missing' | 'untrusted' | 'invalid' | 'timeout'

const kPassed = Symbol('gatehouse.proxyProtocolPassed')
const kInstalled = Symbol('gatehouse.proxyProtocol')
type Marked = Socket & { [kPassed]?: true }
type Wrapped = Server & { [kInstalled]?: State }
type State = ProxyProtocolOptions & { held: Set<Socket> }

/**
 * Puts the PROXY protocol in front of a server (HTTP, HTTPS or HTTP/2: for TLS the header
 * comes before the ClientHello, so it is read from the raw TCP connection). Every new
 * connection is held back from the server's own 'connection' listeners, whoever added them
 * and whenever, until its first bytes say what it is:
 * - from a trusted peer, a whole valid header: the header's source becomes the socket's
 *   remote address (so request.ip, the filters, rate-limit keys, hashing, X-Forwarded-For and
 *   the log all see the client), the bytes after it are put back, and the server gets the
 *   connection as if it had just been accepted;
 * - from a trusted peer, anything else (no header, a malformed, truncated or oversized one),
 *   or from any other peer a header (a client forging its address): closed, unanswered;
 * - nothing by `headersTimeout`: closed, as Node closes a connection without a request head.
 * nginx (`listen ... proxy_protocol` with `set_real_ip_from`) and HAProxy (`accept-proxy`
 * with `tcp-request connection expect-proxy layer4 if { src ... }`) do the same.
 */
export function acceptProxyProtocol (server: Server, opts: ProxyProtocolOptions): { closeHeld: () => void } {
  const wrapped = server as Wrapped
  const installed = wrapped[kInstalled]
  // Connections still waiting for their first bytes are not the HTTP server's yet, so its
  // close would wait for them: whoever closes the server ends them first.
  const closeHeld = (): void => { for (const s of (wrapped[kInstalled] as State).held) s.destroy() }
  if (installed !== undefined) {
    // A second registration on one server (a reload re-registers nothing; a host app might): the latest options win.
    Object.assign(installed, opts)
    return { closeHeld }
  }
  const state: State = { ...opts, held: new Set() }
  wrapped[kInstalled] = state
  // Untyped: net.Server's emit overloads name each event, and this one passes every event on.
  type Emit = (this: Server, event: string | symbol, ...args: unknown[]) => boolean
  const emit = server.emit as Emit
  const intercept: Emit = function (event, ...args) {
    if (event === 'connection' && (args[0] as Marked)[kPassed] !== true) {
      hold(args[0] as Socket, state, socket => {
        (socket as Marked)[kPassed] = true
        emit.call(this, 'connection', socket)
      })
      return true
    }
    if (event === 'secureConnection') inheritAddress(args[0] as Socket)
    return emit.call(this, event, ...args)
  }
  server.emit = intercept as Server['emit']
  return { closeHeld }
}

function hold (socket: Socket, opts: State, pass: (socket: Socket) => void): void {
  const peer = socket.remoteAddress
  const trusted = peer !== undefined && opts.from.has(peer)
  let buffered: Buffer = Buffer.alloc(0)
  let done = false
  const finish = (): void => {
    done = true
    opts.held.delete(socket)
    clearTimeout(timer)
    socket.removeListener('data', onData)
    socket.removeListener('end', onEnd)
  }
  const reject = (reason: ProxyRejection, detail: string): void => {
    finish()
    opts.rejected(reason, detail, peer)
    socket.destroy()
  }
  const onData = (chunk: Buffer): void => {
    if (done) return
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    const header = parseProxyHeader(buffered)
    if (header.kind === 'incomplete') return
    if (!trusted) {
      if (header.kind === 'none') return forward(buffered)
      return reject('untrusted', 'a PROXY protocol header from a peer not in listen.proxyProtocol.from')
    }
    if (header.kind === 'none') return reject('missing', 'no PROXY protocol header from a trusted peer')
    if (header.kind === 'invalid') return reject('invalid', header.reason)
    if (header.source !== undefined) setRemote(socket, header.source)
    forward(buffered.subarray(header.length))
  }
  const forward = (rest: Buffer): void => {
    finish()
    // Paused before our data listener goes, so that nothing is read with no one to take it.
    socket.pause()
    if (rest.length > 0) socket.unshift(rest)
    socket.removeListener('error', ignore)
    pass(socket)
    // The HTTP server reads the socket through a 'data' listener, which on a fresh socket
    // would have set it flowing: it is resumed for it. A TLS server takes the connection's
    // handle instead and reads what was put back itself (resuming would hand those bytes to
    // no one).
    if (socket.listenerCount('data') > 0 && socket.isPaused() && !socket.destroyed) socket.resume()
  }
  // A peer that ends before its header is whole: a truncated header, or (from a balancer) none
  // at all. Anyone else who connects and leaves without a byte (a port check) is no refusal.
  const onEnd = (): void => {
    if (buffered.length > 0) reject(trusted ? 'invalid' : 'untrusted', 'connection ended inside a PROXY protocol header')
    else if (trusted) reject('missing', 'connection ended before a PROXY protocol header')
    else {
      finish()
      socket.destroy()
    }
  }
  const timer = setTimeout(() => {
    if (trusted || buffered.length > 0) {
      reject('timeout', `no PROXY protocol header within ${opts.headersTimeout} ms`)
      return
    }
    // A client of its own that sent nothing: closed as Node closes one without a request head, not counted here.
    finish()
    socket.destroy()
  }, opts.headersTimeout)
  timer.unref()
  // Until the server has it, the errors of the connection are ours; a reset must not go unhandled.
  socket.on('error', ignore)
  socket.on('data', onData)
  socket.on('end', onEnd)
  opts.held.add(socket)
  socket.once('close', () => { if (!done) finish() })
}

function ignore (): void {}

/** The client named by the header, as the socket's remote address from now on (Node's getters, shadowed on this socket). */
function setRemote (socket: Socket, source: ProxyAddress): void {
  Object.defineProperties(socket, {
    remoteAddress: { value: source.address, configurable: true },
    remotePort: { value: source.port, configurable: true },
    remoteFamily: { value: source.family, configurable: true }
  })
  ;(socket as Socket & { [kSource]?: ProxyAddress })[kSource] = source
}

const kSource = Symbol('gatehouse.proxySource')

/** A TLS socket made on a raw connection that carried a header takes the header's client too. */
function inheritAddress (tlsSocket: Socket): void {
  const raw = (tlsSocket as Socket & { _parent?: Socket & { [kSource]?: ProxyAddress } })._parent
  const source = raw?.[kSource]
  if (source !== undefined) setRemote(tlsSocket, source)
}
