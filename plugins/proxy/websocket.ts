import fp from 'fastify-plugin'
import { request as httpRequest, ServerResponse, STATUS_CODES, type IncomingMessage, type ClientRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Upstream } from '../../lib/upstreams/upstream'
import { Attempt } from '../../lib/proxy/attempt'
import { logFailure } from '../../lib/proxy/attempt-log'
import { forwardRequestHeaders, withoutHopByHop } from '../../lib/http/forward-headers'
import { declaresBody, dropUpgrade, isWebSocketUpgrade, markUpgrade, upgradeHead } from '../../lib/http/upgrade-request'
import { BadRequestError } from '../../lib/errors'
import { CLIENT_GONE_CODE } from '../../lib/proxy/client-signal'
import { clientConnectionOf } from '../../lib/proxy/client-connection'
import { backendHost, tunnelConnectOptions } from '../../lib/proxy/tunnel-connect'
import type { Backend } from '../../lib/upstreams/backend'
import { refusalsOf, screenRequest, type Refusals } from '../../lib/http/screen-request'

declare module 'fastify' {
  interface FastifyReply {
    /** Proxies an Upgrade request (WebSocket) to `upstream` at `path` and then tunnels its bytes both ways. */
    tunnel (upstream: Upstream, path: string): void
  }
}

/**
 * WebSocket upgrades through the same routes, policies and balancing as
 * plain requests. Node hands an upgrade to the server's 'upgrade' listeners instead of
 * 'request'; we feed it to Fastify's router with a response bound to the socket, as
 * @fastify/websocket does, so the route's hooks (rate limit, sticky) run and can still
 * refuse with a normal HTTP answer. The handler then opens the upgrade to a backend and, on
 * its 101, joins the two sockets.
 *
 * A tunnel counts as one in-flight request on its server while it is open (least
 * connections sees it). When the gateway closes, open tunnels are closed: their clients
 * reconnect, to another instance if there is one.
 */
async function websocket (fastify: FastifyInstance) {
  const tunnels = new Set<Duplex>()

  fastify.addHook('onReady', async () => {
    const others = fastify.server.listenerCount('upgrade')
    if (others > 0) {
      // Another plugin (such as @fastify/websocket) owns upgrades here; two owners would both answer.
      fastify.log.warn('another upgrade handler is registered: Gatehouse does not proxy WebSocket')
      return
    }
    fastify.server.on('upgrade', onUpgrade)
  })

  function onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const tunnelled = isWebSocketUpgrade(req)
    // Any other upgrade (h2c, an unknown token) goes on as a plain request on a connection
    // that closes after its answer; the bytes behind it are never read (see dropUpgrade).
    if (tunnelled) markUpgrade(req, head)
    else dropUpgrade(req)
    socket.on('error', () => socket.destroy())
    const res = new ServerResponse(req)
    res.assignSocket(socket as never)
    // Answered over HTTP instead (refused, declined, failed): this socket left the server's
    // HTTP handling with the upgrade, so nothing else would ever close it.
    res.shouldKeepAlive = false
    res.once('finish', () => socket.end())
    // Upgrades skip the server's 'request' listener, and with it the protocol checks.
    const refusals = refusalsOf(fastify.server)
    if (!screenRequest(req, res, refusals)) return
    if (!tunnelled && declaresBody(req)) refuseUpgradeBody(res, refusals)
    else fastify.routing(req, res)
  }

  fastify.addHook('preClose', async () => {
    fastify.server.removeListener('upgrade', onUpgrade)
    for (const socket of tunnels) socket.destroy()
  })

  fastify.decorateReply('tunnel', function (this: FastifyReply, upstream: Upstream, path: string) {
    const request = this.request
    const attempt = new Attempt(upstream, request, request.preferredBackend, request.attemptObserver)
    request.upstream = upstream
    const url = request.raw.url ?? ''
    const q = url.indexOf('?')
    open(this, attempt, q === -1 ? path : path + url.slice(q))
  })

  /** Sends the upgrade to the next server; on a failure that proves nothing was sent, to the one after. */
  function open (reply: FastifyReply, attempt: Attempt, target: string): void {
    const request = reply.request
    const backend = attempt.next()
    if (backend === undefined) {
      reply.send(attempt.noServer())
      return
    }
    request.backend = backend
    const upstream = attempt.upstream
    let out: ClientRequest
    try {
      out = upgradeRequest(request, upstream, backend, target)
    } catch (err) {
      // Node refused to build the request (a header value it will not send): the client's
      // request is at fault, nothing left, and the server is charged nothing.
      attempt.cancel()
      request.backend = null
      reply.send(new BadRequestError((err as Error).message))
      return
    }
    // The client went before the backend answered the upgrade: drop it, charged to no server.
    const client = request.raw.socket
    const onClientGone = (): void => {
      if (reply.sent) return
      attempt.abort()
      out.destroy(Object.assign(new Error('the client went away'), { code: CLIENT_GONE_CODE }))
    }
    client.once('close', onClientGone)

    // Connect, then the answer to the upgrade, each within the upstream's timeouts; an open tunnel has none.
    const { connect, response } = upstream.options.timeouts
    const fail = (code: string) => out.destroy(Object.assign(new Error('timed out'), { code }))
    let timer = setTimeout(fail, connect, 'UND_ERR_CONNECT_TIMEOUT')
    const connected = (): void => {
      clearTimeout(timer)
      timer = setTimeout(fail, response, 'UND_ERR_HEADERS_TIMEOUT')
    }
    // A PROXY protocol connection is handed over open (lib/proxy/tunnel-connect.ts).
    out.once('socket', s => { if (s.connecting) s.once('connect', connected); else connected() })

    out.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      client.removeListener('close', onClientGone)
      if (reply.sent || attempt.aborted) {
        attempt.release()
        return
      }
      const code = err.code ?? ''
      // Only an upgrade that never reached a backend goes to another: one that did may have opened a session.
      const failure = attempt.failed(code, { ifNotSent: true, ifSent: false })
      logFailure(request.server.log, request.id, attempt, failure, code)
      if (failure.retry) open(reply, attempt, target)
      else reply.send(failure.error)
    })

    // The backend declined the upgrade: its answer goes to the client as a plain response.
    out.on('response', res => {
      clearTimeout(timer)
      client.removeListener('close', onClientGone)
      attempt.succeeded(res.statusCode)
      res.once('close', () => attempt.release())
      reply.code(res.statusCode ?? 502).headers(withoutHopByHop(res.headers)).send(res)
    })

    out.on('upgrade', (res, backendSocket, backendHead) => {
      clearTimeout(timer)
      client.removeListener('close', onClientGone)
      attempt.succeeded(101)
      reply.hijack()
      join(request, attempt, res, backendSocket as Socket, backendHead)
      // Fastify's onResponse hooks never run for a hijacked reply: the access line is written here.
      request.server.log.info({ reqId: request.id, upstream: upstream.name, server: backend.id, status: 101, requestId: request.requestId }, 'tunnel opened')
    })
    out.end()
  }

  /** Passes the backend's 101 on, then joins the two sockets byte for byte until either goes. */
  function join (request: FastifyRequest, attempt: Attempt, res: IncomingMessage, backendSocket: Socket, backendHead: Buffer): void {
    const client = request.raw.socket
    tunnels.add(client)
    let head = `HTTP/1.1 ${res.statusCode ?? 101} ${res.statusMessage ?? 'Switching Protocols'}\r\n`
    for (let i = 0; i < res.rawHeaders.length; i += 2) head += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`
    client.write(head + `x-request-id: ${request.requestId}\r\n\r\n`)
    if (backendHead.length > 0) client.write(backendHead)
    const clientHead = upgradeHead(request.raw)
    if (clientHead !== undefined && clientHead.length > 0) backendSocket.write(clientHead)
    const close = () => {
      tunnels.delete(client)
      attempt.release()
      client.destroy()
      backendSocket.destroy()
    }
    backendSocket.on('error', close).on('close', close)
    client.on('error', close).on('close', close)
    // WebSocket has no use for half-closed connections: when either side ends, the other is
    // ended once its pending bytes are written, and then both go, as nginx does.
    backendSocket.on('end', () => client.end(close))
    client.on('end', () => backendSocket.end(close))
    backendSocket.pipe(client, { end: false })
    client.pipe(backendSocket, { end: false })
    // An open tunnel with no bytes either way for tunnelIdle is closed, as nginx does after
    // proxy_read_timeout. Every byte crosses the backend socket, read or written, and a
    // socket's timeout counts both, so one timer watches the tunnel.
    backendSocket.setTimeout(attempt.upstream.options.tunnelIdleTimeout, close)
  }
}

/** 400 in the gateway's JSON shape, the connection closed after it as after every refusal before routing. */
function refuseUpgradeBody (res: ServerResponse, refusals: Refusals | undefined): void {
  const err = new BadRequestError('an upgrade other than websocket cannot carry a body')
  refusals?.refused(400, err.code, err.message)
  const body = JSON.stringify({ statusCode: 400, error: STATUS_CODES[400], code: err.code, message: err.message })
  res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body)
}

/** The upgrade request to a backend: the client's headers as forwarded, with the two hop-by-hop ones an upgrade needs. */
function upgradeRequest (request: FastifyRequest, upstream: Upstream, backend: Backend, target: string): ClientRequest {
  const raw = request.raw
  const url = new URL(backend.origin)
  const headers = forwardRequestHeaders({ ...raw.headers }, {
    ip: request.ip, protocol: request.protocol, host: raw.headers.host, requestId: request.requestId
  }, upstream.options.preserveHost)
  if (!upstream.options.preserveHost) headers.host = backendHost(backend)
  headers.connection = 'upgrade'
  headers.upgrade = raw.headers.upgrade
  request.attemptObserver?.sending(headers)
  return (url.protocol === 'https:' ? httpsRequest : httpRequest)({
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port,
    // The routed path and raw query as they are: a URL's pathname would be a WHATWG resolution of them.
    path: target,
    method: raw.method,
    headers: headers as Record<string, string>,
    agent: false,
    ...tunnelConnectOptions(backend, clientConnectionOf(request)?.endpoint, { connectTimeout: upstream.options.timeouts.connect, tls: upstream.options.tls })
  })
}

export default fp(websocket, { fastify: '5.x', name: 'gatehouse-websocket', dependencies: ['gatehouse-forward'] })
