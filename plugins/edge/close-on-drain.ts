import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { closeConnection } from '../../lib/http/close-connection'
import { bodyBlindHook } from '../proxy/direct-send'

/**
 * While closing, every answer ends its connection. Fastify closes the keep-alive connections
 * that are idle when close() starts, but one whose request was still in flight would stay
 * open after its answer and hold the close until the client lets go.
 */
async function closeOnDrain (fastify: FastifyInstance) {
  let closing = false
  fastify.addHook('preClose', (done) => {
    closing = true
    done()
  })
  fastify.addHook('onSend', bodyBlindHook((request, reply, payload, done) => {
    if (closing) closeConnection(reply)
    done(null, payload)
  }))
}

export default fp(closeOnDrain, { fastify: '5.x', name: 'gatehouse-close-on-drain' })
