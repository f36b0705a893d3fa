import fp from 'fastify-plugin'
import { Transform } from 'node:stream'
import type { FastifyInstance, onRequestHookHandler, preParsingHookHandler } from 'fastify'
import { BodyTooLargeError } from '../../lib/errors'
import { toArray } from '../../lib/to-array'
import { refuse } from './refuse'

/**
 * `filters.maxBodySize`, as nginx's client_max_body_size: a declared Content-Length over the
 * limit is answered 413 at once (onRequest), before a byte of the body is read; a body of
 * unknown length (chunked) is counted as it passes (preParsing) and, once past the limit,
 * the count stream fails with a 413. The body parser (plugins/request-body.ts) hands that
 * failure on: a body still held fails the parse, a streamed one is destroyed, which aborts
 * the backend request (plugins/forward.ts answers the 413). Either way the connection closes,
 * since the rest of the upload is never read. Nothing is buffered here.
 */
async function bodySizeFilter (fastify: FastifyInstance) {
  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    const limit = route?.filters?.maxBodySize
    if (route === undefined || limit === undefined) return

    const gatehouseDeclaredSize: onRequestHookHandler = (request, reply, done) => {
      const declared = request.headers['content-length']
      if (declared === undefined || Number(declared) <= limit) {
        done()
        return
      }
      reply.header('connection', 'close')
      done(refuse(fastify, request, route, 'body-size', new BodyTooLargeError(limit)))
    }

    const gatehouseCountedSize: preParsingHookHandler = (request, reply, payload, done) => {
      // A declared length was checked above, and Node's parser holds the body to it.
      if (request.headers['content-length'] !== undefined) {
        done(null, payload)
        return
      }
      let size = 0
      const counted = new Transform({
        transform (chunk: Buffer, _encoding, callback) {
          size += chunk.length
          if (size <= limit) {
            callback(null, chunk)
            return
          }
          reply.header('connection', 'close')
          callback(refuse(fastify, request, route, 'body-size', new BodyTooLargeError(limit)))
        }
      })
      payload.once('error', (err: Error) => counted.destroy(err))
      payload.pipe(counted)
      done(null, counted)
    }

    routeOptions.onRequest = [...toArray(routeOptions.onRequest), gatehouseDeclaredSize]
    routeOptions.preParsing = [...toArray(routeOptions.preParsing), gatehouseCountedSize]
  })
}

export default fp(bodySizeFilter, { fastify: '5.x', name: 'gatehouse-filter-body-size', dependencies: ['gatehouse-request-state'] })
