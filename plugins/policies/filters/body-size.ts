import { Transform } from 'node:stream'
import type { onRequestHookHandler, preParsingHookHandler } from 'fastify'
import { BodyTooLargeError, ReceiveTimeoutError } from '../../../lib/errors'
import { refuse } from './refuse'
import { closeConnection } from '../../../lib/http/close-connection'
import type { HookFactory } from '../pipeline'

function noop (): void {}

/**
 * The body of a GET or HEAD, which Fastify never parses and Gatehouse never forwards, is
 * read and dropped here, before the request goes on, so that one past the limit is refused
 * (413, as nginx's client_max_body_size refuses it for any method) rather than left unread.
 * Nothing is held; only its size is counted.
 */
function dropBody (payload: Parameters<preParsingHookHandler>[2], limit: number, receiveTimeout: number, tooLarge: () => Error, done: Parameters<preParsingHookHandler>[3]): void {
  let size = 0
  let finished = false
  // The request waits for its body here, so the body is held to receiveTimeout as a whole:
  // a GET whose body trickles would otherwise wait for ever, holding its client connection.
  const deadline = setTimeout(() => finish(new ReceiveTimeoutError()), receiveTimeout)
  const finish = (err: Error | null) => {
    if (finished) return
    finished = true
    clearTimeout(deadline)
    if (err !== null) payload.on('error', noop)
    payload.removeListener('data', onData)
    payload.removeListener('end', onEnd)
    payload.removeListener('error', onError)
    done(err, payload)
  }
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size > limit) {
      payload.pause()
      finish(tooLarge())
    }
  }
  const onEnd = () => finish(null)
  const onError = (err: Error) => finish(err)
  payload.on('data', onData)
  payload.once('end', onEnd)
  payload.once('error', onError)
}

/**
 * `filters.maxBodySize`, as nginx's client_max_body_size: a declared Content-Length over the
 * limit is answered 413 at once (onRequest), before a byte of the body is read; a body of
 * unknown length (chunked) is counted as it passes (preParsing) and, once past the limit,
 * the count stream fails with a 413. The body parser (plugins/proxy/request-body.ts) hands that
 * failure on: a body still held fails the parse, a streamed one is destroyed, which aborts
 * the backend request (plugins/proxy/forward.ts answers the 413). Either way the connection closes,
 * since the rest of the upload is never read (over HTTP/2 the stream is reset instead).
 * Nothing is buffered here.
 */
export const declaredSize: HookFactory<'onRequest'> = (route, { fastify }) => {
  const limit = route.filters?.maxBodySize
  if (limit === undefined) return undefined
  const gatehouseDeclaredSize: onRequestHookHandler = (request, reply, done) => {
    const declared = request.headers['content-length']
    if (declared === undefined || Number(declared) <= limit) {
      done()
      return
    }
    closeConnection(reply)
    done(refuse(fastify, request, route, 'body-size', new BodyTooLargeError(limit)))
  }
  return gatehouseDeclaredSize
}

/** The count of a body of unknown length; a GET's or HEAD's is read and dropped within `receiveTimeout`. */
export function countedSize (receiveTimeout: number): HookFactory<'preParsing'> {
  return (route, { fastify }) => {
    const limit = route.filters?.maxBodySize
    if (limit === undefined) return undefined
    const gatehouseCountedSize: preParsingHookHandler = (request, reply, payload, done) => {
      // A declared length was checked above, and Node's parser holds the body to it; without
      // it or Transfer-Encoding there is no body (RFC 9112 §6.3; an HTTP/2 body of unknown
      // length is marked chunked by lib/http/screen-request.ts).
      if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] === undefined) {
        done(null, payload)
        return
      }
      const tooLarge = () => {
        closeConnection(reply)
        return refuse(fastify, request, route, 'body-size', new BodyTooLargeError(limit))
      }
      // An upgrade's bytes after the head belong to the tunnel, not to a body: nothing to count.
      if ((request.raw as { upgrade?: boolean }).upgrade === true) {
        done(null, payload)
        return
      }
      if (request.method === 'GET' || request.method === 'HEAD') {
        dropBody(payload, limit, receiveTimeout, tooLarge, done)
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
          callback(tooLarge())
        }
      })
      // The failure is taken up by the body parser (plugins/proxy/request-body.ts) or by the body
      // view that forwards it; if neither is listening any more (the request was answered),
      // an 'error' with no listener would end the process.
      counted.on('error', noop)
      payload.once('error', (err: Error) => counted.destroy(err))
      payload.pipe(counted)
      done(null, counted)
    }
    return gatehouseCountedSize
  }
}
