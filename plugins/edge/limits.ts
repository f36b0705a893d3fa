import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Socket } from 'node:net'
import { constants as http2 } from 'node:http2'
import { bodyPending, closeConnection } from '../../lib/http/close-connection'
import type { LimitsOptions } from '../../lib/config'
import { watchSend } from '../../lib/http/stall-timer'
import { boundStreamResets } from '../../lib/http/h2-reset-bound'
import { keepStreamErrorsOnStreams } from '../../lib/http/h2-stream-errors'
import { H2_RESET_BURST, H2_RESET_RATE } from '../../lib/http/server-options'
import { isStream } from '../../lib/http/body-kind'
import { bodyBlindHook } from '../proxy/direct-send'

/** How often Node looks for connections past headersTimeout: at most this long after the limit. */
const MAX_CHECK_INTERVAL = 1_000
const MIN_CHECK_INTERVAL = 10
const { NGHTTP2_CANCEL } = http2

/**
 * What one client may hold of the gateway, so that a few slow or greedy clients cannot hold
 * all of it. The server-wide limits are set on the server Gatehouse is registered on (the
 * host app's server in plugin mode), at registration, before it listens; the per-request ones
 * apply to Gatehouse's routes.
 *
 * - maxConnections: past it Node closes each new connection at once (HAProxy's maxconn).
 * - headersTimeout: a connection that has not sent a whole request head within it gets 408
 *   and is closed (nginx's client_header_timeout). Node only checks every
 *   connectionsCheckingInterval (30 s by default, read when the server starts listening), so an
 *   idle or trickling connection held for up to 30 s more; the interval is lowered to a tenth
 *   of the limit, at most 1 s.
 * - keepAliveTimeout: an idle keep-alive connection is closed after it (nginx's keepalive_timeout).
 * - sendTimeout: a streamed answer whose client accepts no bytes for that long is cut, which
 *   destroys the backend response and so frees its pooled connection (nginx's send_timeout).
 *   Without it, clients that never read hold every backend connection (lib/http/stall-timer.ts).
 */
async function limits (fastify: FastifyInstance, opts: LimitsOptions) {
  // connectionsCheckingInterval is a documented server option, missing from @types/node 20.
  const server = fastify.server as typeof fastify.server & { connectionsCheckingInterval: number }
  server.maxConnections = opts.maxConnections
  server.headersTimeout = opts.headersTimeout
  server.connectionsCheckingInterval = Math.max(MIN_CHECK_INTERVAL, Math.min(MAX_CHECK_INTERVAL, Math.floor(opts.headersTimeout / 10)))
  server.keepAliveTimeout = opts.keepAliveTimeout
  // HTTP/2 only ('session' is never emitted by an HTTP/1.1 server).
  boundStreamResets(server, { burst: H2_RESET_BURST, rate: H2_RESET_RATE })
  keepStreamErrorsOnStreams(server)

  const sendTimeout = opts.sendTimeout
  // Shared by every answer (no closure per request): the send watch hands it the reply.
  const clientStalled = (reply: FastifyReply): void => {
    const request = reply.request
    request.log.info({ upstream: request.upstream?.name, sendTimeout }, 'client stopped reading: connection closed')
    // The answer's body is destroyed when the response closes: the backend request is aborted.
    resetClient(reply.raw)
  }
  fastify.addHook('onSend', bodyBlindHook((request, reply, payload, done) => {
    // An answer sent before the request body arrived whole (a refusal, a stalled upload)
    // closes the connection: Node would otherwise read the rest of the body to keep it alive.
    if (bodyPending(request.raw)) closeConnection(reply)
    if (isStream(payload)) {
      watchSend(payload, sendTimeout, clientStalled, reply)
    }
    done(null, payload)
  }))
}

type RawResponse = FastifyReply['raw'] & { stream?: { close (code: number): void } }

/**
 * Cuts a stalled client with a reset, not a FIN: a FIN leaves the unsent megabytes in the
 * kernel until the peer reads them or the orphan timer ends, a reset drops them at once
 * (nginx's reset_timedout_connection). Over HTTP/2 only the stream is reset (RST_STREAM
 * CANCEL), which also frees its share of the connection's flow-control window.
 */
function resetClient (raw: RawResponse): void {
  if (raw.stream !== undefined) {
    raw.stream.close(NGHTTP2_CANCEL)
    return
  }
  const socket = raw.socket as (Socket & { resetAndDestroy?: () => void }) | null
  if (socket !== null && !socket.destroyed && typeof socket.resetAndDestroy === 'function') {
    try {
      socket.resetAndDestroy()
      return
    } catch {
      // Only a plain TCP socket can be reset (a TLS socket's handle is not one): FIN it is.
    }
  }
  raw.destroy()
}

export default fp(limits, { fastify: '5.x', name: 'gatehouse-limits' })
