import fp from 'fastify-plugin'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { screenOnce, screenRequest } from '../../lib/http/screen-request'
import { onClientError } from './client-error'

type Listener = (req: IncomingMessage, res: ServerResponse) => void

/**
 * Protocol checks that must run before Fastify routes a request: Fastify matches the route
 * before any hook runs, and rewriteUrl is a server option a plugin cannot set. So at
 * registration this wraps the server's 'request' listener (Fastify's handler): each request
 * is screened (lib/http/screen-request.ts) and then handed to Fastify, or answered there. It
 * also replaces the server's 'clientError' listener (see plugins/edge/client-error.ts).
 *
 * Both are properties of the HTTP server, not of an encapsulation context: in plugin mode
 * they apply to the host app's routes too, which is what protocol errors call for. A server
 * is wrapped once however many times Gatehouse is registered on it.
 */
async function strictHttp (fastify: FastifyInstance) {
  const server = fastify.server
  const refusals = screenOnce(server, fastify.log)
  if (refusals === undefined) return

  const handlers = server.listeners('request') as Listener[]
  server.removeAllListeners('request')
  const handler = handlers.length === 1 ? handlers[0] : (req: IncomingMessage, res: ServerResponse) => { for (const h of handlers) h.call(server, req, res) }
  server.on('request', function screened (req: IncomingMessage, res: ServerResponse) {
    if (screenRequest(req, res, refusals)) handler.call(server, req, res)
  })

  server.removeAllListeners('clientError')
  server.on('clientError', onClientError)
}

export default fp(strictHttp, { fastify: '5.x', name: 'gatehouse-strict-http' })
