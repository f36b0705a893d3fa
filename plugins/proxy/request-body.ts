import fp from 'fastify-plugin'
import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { watchReceive } from '../../lib/http/stall-timer'
import { ClientAbortedError, ReceiveTimeoutError } from '../../lib/errors'
import { isGrpc } from '../../lib/grpc/call'
import { markHeldWhole } from '../../lib/http/body-kind'

export interface RequestBodyOptions {
  /** Bodies up to this many bytes are held in memory so that a failed attempt can be replayed. */
  retryBodyLimit: number
  /** Bodies up to this many bytes are received whole before a server is chosen (`limits.requestBuffer`). */
  requestBuffer: number
  /** A body that stops arriving for this long (while it is being read) fails with a 408 (`limits.receiveTimeout`). */
  receiveTimeout: number
}

/**
 * Replaces Fastify's body parsers, which buffer and cap bodies, with one that hands the
 * raw stream on for every content type. The first max(`retryBodyLimit`, `requestBuffer`)
 * bytes are held: a body that ends within `retryBodyLimit` becomes a Buffer (replayable on
 * failover), one that ends within `requestBuffer` a stream of the whole body (not replayed
 * once read, as before); a longer one becomes a stream of the held bytes followed by the
 * rest, and is never buffered whole.
 *
 * Holding is also request buffering, as nginx's proxy_request_buffering: the route's
 * forwarder only runs once the parser is done, so a body that fits is received whole before a
 * server is chosen and a pooled connection taken, and a client that trickles a small upload
 * holds no backend connection. While held, the whole body must arrive within
 * `receiveTimeout` (a deadline, not a per-chunk timer: a byte a minute would restart that
 * for ever); a body of `requestBuffer` bytes must so come at `requestBuffer`/`receiveTimeout`
 * at least (64 KiB / 60 s: about 1 KiB/s).
 *
 * Once streamed, a body that stops arriving fails after `receiveTimeout` without a chunk
 * (nginx's client_body_timeout): the stream handed on is destroyed with that error, which
 * aborts the backend request (forward.ts answers the 408). Waiting on our side (the backend
 * or the pool is slow to take it) is not counted: the stream is paused then.
 *
 * A body the client cut short (an HTTP/2 stream reset before END_STREAM, or DATA that
 * disagrees with content-length, which nghttp2 resets) ends like a whole one in Node's
 * compatibility layer, with the request marked aborted. RFC 9113 §8.1.1: an intermediary MUST
 * NOT forward a malformed request. So such an end fails the parse (400) or destroys the
 * stream handed on, which aborts the backend request: no backend sees it as complete.
 */
async function requestBody (fastify: FastifyInstance, opts: RequestBodyOptions) {
  const limit = Math.max(opts.retryBodyLimit, opts.requestBuffer)
  const receiveTimeout = opts.receiveTimeout
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { bodyLimit: Number.MAX_SAFE_INTEGER }, (request, payload, done) => {
    const raw = request.raw as { aborted?: boolean }
    const held: Buffer[] = []
    let size = 0
    let streamed: PassThrough | undefined
    let deadline: NodeJS.Timeout | undefined
    let failed = false
    const streamOn = () => {
      cleanup()
      // Longer than we hold: stream what we have, then the rest, with backpressure.
      const stream = streamed = new PassThrough()
      // Its failure (a size filter cut it, a receive timeout) is taken up by whoever reads it
      // (forward's body view, which checks for one first); until then an 'error' with no
      // listener would end the process.
      stream.on('error', noop)
      for (const c of held) stream.write(c)
      payload.pipe(stream, { end: false })
      payload.once('end', () => {
        if (raw.aborted === true) stream.destroy(new ClientAbortedError())
        else stream.end()
      })
      payload.once('error', (err: Error) => stream.destroy(err))
      done(null, stream)
    }
    const onData = (chunk: Buffer) => {
      held.push(chunk)
      size += chunk.length
      if (size > limit) streamOn()
    }
    const onEnd = () => {
      if (raw.aborted === true) {
        onError(new ClientAbortedError())
        return
      }
      cleanup()
      const body = held.length === 1 ? held[0] : Buffer.concat(held, size)
      if (size <= opts.retryBodyLimit) {
        done(null, body)
        return
      }
      // Held whole only to be buffered: handed on as a stream, so that, as for any body
      // longer than retryBodyLimit, it is not replayed once an attempt has read it.
      const stream = new PassThrough()
      stream.on('error', noop)
      markHeldWhole(stream, body)
      stream.end(body)
      done(null, stream)
    }
    const onError = (err: Error) => {
      // The deadline and the stall timer may both come due: the parse fails once.
      if (failed) return
      failed = true
      cleanup()
      // A failed body is read no more: its late bytes or errors are nobody's.
      payload.on('error', noop)
      done(err, undefined)
    }
    const cleanup = () => {
      if (deadline !== undefined) clearTimeout(deadline)
      payload.removeListener('data', onData)
      payload.removeListener('end', onEnd)
      payload.removeListener('error', onError)
    }
    // A gRPC call streams from its first byte: a client-streaming or bidirectional call may wait
    // for an answer before it sends more, which a held body would never forward (nginx's
    // grpc_pass does not buffer request bodies either). It is never replayed then.
    if (limit === 0 || isGrpc(request.headers)) streamOn()
    else {
      payload.on('data', onData)
      payload.once('end', onEnd)
      payload.once('error', onError)
      if (!payload.complete) deadline = setTimeout(onError, receiveTimeout, new ReceiveTimeoutError())
    }
    if (!payload.complete) {
      watchReceive(payload, receiveTimeout, () => {
        if (streamed === undefined) onError(new ReceiveTimeoutError())
        else streamed.destroy(new ReceiveTimeoutError())
      })
    }
  })
}

function noop (): void {}

export default fp(requestBody, { fastify: '5.x', name: 'gatehouse-request-body' })
