import fp from 'fastify-plugin'
import { PassThrough, type Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'

export interface RequestBodyOptions {
  /** Bodies up to this many bytes are held in memory so that a failed attempt can be replayed. */
  retryBodyLimit: number
}

/**
 * Replaces Fastify's body parsers, which buffer and cap bodies, with one that hands the
 * raw stream on for every content type. The first `retryBodyLimit` bytes are held: a body
 * that ends within them becomes a Buffer (replayable on failover); a longer one becomes a
 * stream of the held bytes followed by the rest, and is never buffered whole.
 */
async function requestBody (fastify: FastifyInstance, opts: RequestBodyOptions) {
  const limit = opts.retryBodyLimit
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { bodyLimit: Number.MAX_SAFE_INTEGER }, (_request, payload, done) => {
    if (limit === 0) {
      done(null, payload)
      return
    }
    const held: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      held.push(chunk)
      size += chunk.length
      if (size > limit) {
        cleanup()
        // Longer than we hold: stream what we have, then the rest, with backpressure.
        const stream = new PassThrough()
        for (const c of held) stream.write(c)
        payload.pipe(stream)
        payload.once('error', (err: Error) => stream.destroy(err))
        done(null, stream)
      }
    }
    const onEnd = () => {
      cleanup()
      done(null, held.length === 1 ? held[0] : Buffer.concat(held, size))
    }
    const onError = (err: Error) => {
      cleanup()
      done(err, undefined)
    }
    const cleanup = () => {
      payload.removeListener('data', onData)
      payload.removeListener('end', onEnd)
      payload.removeListener('error', onError)
    }
    payload.on('data', onData)
    payload.once('end', onEnd)
    payload.once('error', onError)
  })
}

/** A body that can be sent again: absent, or held whole in memory. */
export function isReplayable (body: unknown): boolean {
  return body === undefined || body === null || Buffer.isBuffer(body) || typeof body === 'string'
}

export function isStream (body: unknown): body is Readable {
  return typeof (body as Readable | undefined)?.pipe === 'function'
}

/** A streamed body no attempt has started to read, so it can still go to another server. */
export function isUnread (body: unknown): boolean {
  return isStream(body) && !body.destroyed && !body.readableDidRead
}

export default fp(requestBody, { fastify: '5.x', name: 'gatehouse-request-body' })
