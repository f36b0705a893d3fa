import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { BadGatewayError } from '../../lib/errors'
import { dropBackendHeaders } from './forward'
import { isGrpc } from '../../lib/grpc/call'
import { encodeGrpcMessage, grpcStatusOf } from '../../lib/grpc/status'

/**
 * Every error leaves as JSON with a status, a name and a code, and never with a stack or
 * a backend's address. Gatehouse's own errors (GH_*) say which upstream failed; a 4xx
 * from Fastify keeps its message; anything unexpected is logged and answered with a
 * plain 500 so that nothing internal leaks.
 */
async function errorHandler (fastify: FastifyInstance) {
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    // A backend's answer that failed before its first byte went out (its body broke): the
    // error carries none of the backend's headers, and it is the backend's failure (502).
    if (dropBackendHeaders(reply) && error.code?.startsWith('GH_') !== true && request.upstream !== null) {
      request.log.warn({ upstream: request.upstream.name, server: request.backend?.id, code: error.code }, 'the server\'s answer failed before it was sent')
      error = new BadGatewayError(request.upstream.name)
    }
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    const upstream = request.upstream?.name
    const internal = status >= 500 && error.code?.startsWith('GH_') !== true
    if (internal) request.log.error({ err: error, upstream }, 'unexpected error')
    else if (status >= 500) request.log.warn({ upstream, server: request.backend?.id, code: error.code }, error.message)
    if (isGrpc(request.headers)) {
      // A gRPC client reads no JSON: its answer is a trailers-only response, HTTP 200 with the
      // status in grpc-status and grpc-message, as Envoy and nginx answer a gRPC call they fail.
      // The status goes in the trailers too: Node's compatibility response ends a reply without
      // a body by an empty DATA frame, not on the headers, and gRPC clients then read the trailers.
      const grpcStatus = { 'grpc-status': String(grpcStatusOf(internal ? 'GH_INTERNAL' : error.code, internal ? 500 : status)), 'grpc-message': encodeGrpcMessage(internal ? 'Internal Server Error' : error.message) }
      if (request.raw.httpVersionMajor === 2 && !reply.raw.headersSent) reply.raw.addTrailers(grpcStatus)
      request.grpcStatus = grpcStatus['grpc-status']
      reply.code(200).header('content-type', 'application/grpc').headers(grpcStatus).send()
      return
    }
    if (internal) {
      reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', code: 'GH_INTERNAL', message: 'Internal Server Error' })
      return
    }
    // Busy or nothing ready: worth trying again soon, as HAProxy's 503 from a full queue says.
    if (RETRY_SOON.has(error.code) && !reply.hasHeader('retry-after')) reply.header('retry-after', '1')
    reply.code(status).send({
      statusCode: status,
      error: httpReason(status),
      code: error.code,
      message: error.message,
      ...(upstream !== undefined ? { upstream } : undefined)
    })
  })
}

const RETRY_SOON = new Set(['GH_NO_SERVER_AVAILABLE', 'GH_QUEUE_TIMEOUT'])

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout'
}

function httpReason (status: number): string {
  return REASONS[status] ?? (status < 500 ? 'Client Error' : 'Server Error')
}

export default fp(errorHandler, { fastify: '5.x', name: 'gatehouse-error-handler' })
