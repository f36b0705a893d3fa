import fp from 'fastify-plugin'
import { request as httpRequest, ServerResponse, type IncomingMessage, type ClientRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Duplex } from 'node:stream'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Backend } from '../lib/backend'
import type { Upstream } from '../lib/upstream'
import { forwardRequestHeaders, withoutHopByHop } from '../lib/forward-headers'
import { neverSent } from '../lib/attempt-failure'
import { answerNoServer, failAttempt } from './forward'
import { screenRequest } from './strict-http'

declare module 'fastify' {
  interface FastifyReply {
    /** Proxies an Upgrade request (WebSocket) to `upstream` at `path` and then tunnels its bytes both ways. */
    tunnel (upstream: Upstream, path: string): void
  }
}

const kHead = Symbol('gatehouse.upgradeHead')

type UpgradeRequest = IncomingMessage & { [kHead]?: Buffer }

/** Whether a raw request came in through the server's 'upgrade' event and wants its connection. */
export function isUpgrade (raw: IncomingMessage): boolean {
  return (raw as UpgradeRequest)[kHead] !== undefined
}

/**
 * WebSocket (and any HTTP/1.1 Upgrade) through the same routes, policies and balancing as
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

  function onUpgrade (req: UpgradeRequest, socket: Duplex, head: Buffer): void {
    req[kHead] = head
    socket.on('error', () => socket.destroy())
    const res = new ServerResponse(req)
    res.assignSocket(socket as never)
    // Answered over HTTP instead (refused, declined, failed): this socket left the server's
    // HTTP handling with the upgrade, so nothing else would ever close it.
    res.shouldKeepAlive = false
    res.once('finish', () => socket.end())
    // Upgrades skip the server's 'request' listener, and with it the protocol checks.
    if (screenRequest(req, res)) fastify.routing(req, res)
  }

  fastify.addHook('preClose', async () => {
    fastify.server.removeListener('upgrade', onUpgrade)
    for (const socket of tunnels) socket.destroy()
  })

  fastify.decorateReply('tunnel', function (this: FastifyReply, upstream: Upstream, path: string) {
    const reply = this
    const request = reply.request
    const raw = request.raw as UpgradeRequest
    const tried: Backend[] = []
    let lastFailure: Error | undefined
    const query = raw.url?.includes('?') === true ? raw.url.slice(raw.url.indexOf('?')) : ''
    request.upstream = upstream

    const attempt = (): void => {
      const preferred = request.preferredBackend === null ? undefined : upstream.backends.get(request.preferredBackend)
      const backend = upstream.select(request, { tried, preferred })
      if (backend === undefined) {
        answerNoServer(reply, upstream, lastFailure)
        return
      }
      request.backend = backend
      backend.inflight++
      backend.attempts++
      let released = false
      const release = () => {
        if (!released) {
          released = true
          backend.inflight--
        }
      }

      const url = new URL(path + query, backend.origin)
      const headers = forwardRequestHeaders({ ...raw.headers }, {
        ip: request.ip, protocol: request.protocol, host: raw.headers.host, requestId: request.requestId
      }, upstream.options.preserveHost)
      if (!upstream.options.preserveHost) headers.host = url.host
      // The two hop-by-hop headers an upgrade needs, and only those.
      headers.connection = 'upgrade'
      headers.upgrade = raw.headers.upgrade
      const out: ClientRequest = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        // The routed path and raw query as they are: the URL's own pathname would be a WHATWG resolution of it.
        method: raw.method, path: path + query, headers: headers as Record<string, string>, agent: false
      })
      // Connect, then the answer to the upgrade, each within the upstream's timeouts; an open tunnel has none.
      const { connect, response } = upstream.options.timeouts
      const fail = (code: string) => out.destroy(Object.assign(new Error('timed out'), { code }))
      let timer = setTimeout(fail, connect, 'UND_ERR_CONNECT_TIMEOUT')
      out.once('socket', s => s.once('connect', () => {
        clearTimeout(timer)
        timer = setTimeout(fail, response, 'UND_ERR_HEADERS_TIMEOUT')
      }))

      out.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        release()
        if (reply.sent) return
        const code = err.code ?? ''
        lastFailure = failAttempt(request, upstream, backend, code)
        tried.push(backend)
        // Only an upgrade that never reached a backend goes to another: one that did may have opened a session.
        if (neverSent(code) && upstream.mayRetry(tried.length)) attempt()
        else reply.send(lastFailure)
      })

      // The backend declined the upgrade: its answer goes to the client as a plain response.
      out.on('response', res => {
        clearTimeout(timer)
        upstream.backends.recordSuccess(backend)
        res.once('close', release)
        reply.code(res.statusCode ?? 502).headers(withoutHopByHop(res.headers)).send(res)
      })

      out.on('upgrade', (res, backendSocket, backendHead) => {
        clearTimeout(timer)
        upstream.backends.recordSuccess(backend)
        reply.hijack()
        const client = raw.socket
        tunnels.add(client)
        let head = `HTTP/1.1 ${res.statusCode ?? 101} ${res.statusMessage ?? 'Switching Protocols'}\r\n`
        for (let i = 0; i < res.rawHeaders.length; i += 2) head += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`
        client.write(head + `x-request-id: ${request.requestId}\r\n\r\n`)
        if (backendHead.length > 0) client.write(backendHead)
        const clientHead = raw[kHead]
        if (clientHead !== undefined && clientHead.length > 0) backendSocket.write(clientHead)
        const close = () => {
          tunnels.delete(client)
          release()
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
        backendSocket.setTimeout(upstream.options.tunnelIdleTimeout, close)
        // Fastify's onResponse hooks never run for a hijacked reply: the access line is written here.
        request.server.log.info({ reqId: request.id, upstream: upstream.name, server: backend.id, status: 101, requestId: request.requestId }, 'tunnel opened')
      })
      out.end()
    }
    attempt()
  })
}

export default fp(websocket, { fastify: '5.x', name: 'gatehouse-websocket', dependencies: ['gatehouse-forward'] })
