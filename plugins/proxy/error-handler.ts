import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { BadGatewayError } from '../../lib/errors'
import { dropBackendHeaders } from './forward'

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
    if (status >= 500 && error.code?.startsWith('GH_') !== true) {
      request.log.error({ err: error, upstream }, 'unexpected error')
      reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', code: 'GH_INTERNAL', message: 'Internal Server Error' })
      return
    }
    if (status >= 500) request.log.warn({ upstream, server: request.backend?.id, code: error.code }, error.message)
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
