import fp from 'fastify-plugin'
import { PassThrough, type Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { watchReceive } from '../lib/stall-timer'
import { ReceiveTimeoutError } from '../lib/errors'

export interface RequestBodyOptions {
  /** Bodies up to this many bytes are held in memory so that a failed attempt can be replayed. */
  retryBodyLimit: number
  /** A body that stops arriving for this long (while it is being read) fails with a 408 (`limits.receiveTimeout`). */
  receiveTimeout: number
}

/**
 * Replaces Fastify's body parsers, which buffer and cap bodies, with one that hands the
 * raw stream on for every content type. The first `retryBodyLimit` bytes are held: a body
 * that ends within them becomes a Buffer (replayable on failover); a longer one becomes a
 * stream of the held bytes followed by the rest, and is never buffered whole.
 *
 * A body that stops arriving while it is read fails after `receiveTimeout` (nginx's
 * client_body_timeout): while held, the parser fails with a 408; once streamed, the stream
 * handed on is destroyed with that error, which aborts the backend request (forward.ts
 * answers the 408). Waiting on our side (the backend or the pool is slow to take it) is not
 * counted: the stream is paused then.
 */
async function requestBody (fastify: FastifyInstance, opts: RequestBodyOptions) {
  const limit = opts.retryBodyLimit
  const receiveTimeout = opts.receiveTimeout
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { bodyLimit: Number.MAX_SAFE_INTEGER }, (_request, payload, done) => {
    const held: Buffer[] = []
    let size = 0
    let streamed: PassThrough | undefined
    const streamOn = () => {
      cleanup()
      // Longer than we hold: stream what we have, then the rest, with backpressure.
      const stream = streamed = new PassThrough()
      // Its failure (a size filter cut it, a receive timeout) is taken up by whoever reads it
      // (forward's body view, which checks for one first); until then an 'error' with no
      // listener would end the process.
      stream.on('error', () => {})
      for (const c of held) stream.write(c)
      payload.pipe(stream)
      payload.once('error', (err: Error) => stream.destroy(err))
      done(null, stream)
    }
    const onData = (chunk: Buffer) => {
      held.push(chunk)
      size += chunk.length
      if (size > limit) streamOn()
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
    if (limit === 0) streamOn()
    else {
      payload.on('data', onData)
      payload.once('end', onEnd)
      payload.once('error', onError)
    }
    if (!payload.complete) {
      watchReceive(payload, receiveTimeout, () => {
        if (streamed === undefined) onError(new ReceiveTimeoutError())
        else streamed.destroy(new ReceiveTimeoutError())
      })
    }
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
