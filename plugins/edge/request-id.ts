import fp from 'fastify-plugin'
import { uuid } from '../../lib/ids/uuid'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** x-request-id: the client's, or one made up for it; sent on to the backend and returned. */
    requestId: string
  }
}

// A client's id longer than this is replaced: it goes into every log line and backend request.
const MAX_ID_LENGTH = 200

/** One id per request that the client, the gateway's logs and the backend all share. */
async function requestId (fastify: FastifyInstance) {
  fastify.decorateRequest('requestId', '')
  fastify.addHook('onRequest', (request, reply, done) => {
    const incoming = request.headers['x-request-id']
    request.requestId = typeof incoming === 'string' && incoming.length > 0 && incoming.length <= MAX_ID_LENGTH ? incoming : uuid()
    reply.header('x-request-id', request.requestId)
    done()
  })
}

export default fp(requestId, { fastify: '5.x', name: 'gatehouse-request-id' })
