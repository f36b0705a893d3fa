import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { BadRequestError, ClientAbortedError, ClientTimeoutError, HeadersTooLargeError } from '../../lib/errors'

const kRefused = Symbol('gatehouse.refused')

// After the error answer, how long a client may take to close its side before the socket is
// destroyed. Closing at once while its bytes are still unread would reset the connection,
// and a reset can throw away the answers not yet read (nginx's lingering_close, 5 s too).
const LINGER = 5_000

type ClientSocket = Socket & { _httpMessage?: ServerResponse | null, [kRefused]?: true }

/**
 * The server's 'clientError' listener (Node's HTTP parser refused the bytes, or a request
 * timed out). Fastify's default writes its 400 and destroys the socket at once, so when a
 * valid request came first in the same packet, its answer (the backend ran it) never
 * reaches the client. Here the answers already owed on the socket go out first, in order,
 * then the error, then the connection closes, as nginx and HAProxy do.
 */
export function onClientError (err: NodeJS.ErrnoException, socket: ClientSocket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || socket[kRefused] === true) return
  if (err.code === 'HPE_INVALID_EOF_STATE') {
    // The client closed its side in the middle of a request (an upload cut short): that
    // request can never be answered, and waiting for its answer would keep its backend
    // request, and the backend connection, until the backend gave up. Closing the socket
    // cancels it (plugins/proxy/forward.ts), as nginx does on a client that closed the connection.
    socket.destroy()
    return
  }
  // Node's parser stays in its error state and reports again on any later bytes: one answer.
  socket[kRefused] = true
  // The request being answered may be the one whose body broke (a bad chunk size halfway):
  // its body will never end, so its backend request would wait for the rest until the
  // receive timeout, and this answer with it. Its readers (the body parser, the size filter)
  // are told it failed, which aborts the backend request: never forwarded as complete.
  // Not req.destroy(): that would destroy the socket, and the answers owed on it with it.
  const req = socket._httpMessage?.req
  if (req !== undefined && !req.complete && req.listenerCount('error') > 0) req.emit('error', new ClientAbortedError())
  afterPendingAnswers(socket, () => {
    if (socket.destroyed) return
    if (!socket.writable) {
      socket.destroy()
      return
    }
    socket.end(errorAnswer(err))
    setTimeout(() => socket.destroy(), LINGER).unref()
  })
}

/**
 * Calls `done` once no response is being written on the socket. Node assigns pipelined
 * responses to the socket one at a time, the next as the previous one finishes (its own
 * 'finish' listener, added before ours, does that), so waiting on each in turn drains them all.
 */
function afterPendingAnswers (socket: ClientSocket, done: () => void): void {
  const res = socket._httpMessage
  if (res == null || socket.destroyed) {
    done()
    return
  }
  const next = () => {
    res.off('finish', next)
    res.off('close', next)
    afterPendingAnswers(socket, done)
  }
  res.once('finish', next)
  res.once('close', next)
}

function errorAnswer (err: NodeJS.ErrnoException): string {
  const error = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? new ClientTimeoutError()
    : err.code === 'HPE_HEADER_OVERFLOW'
      ? new HeadersTooLargeError()
      // Also a Transfer-Encoding that does not end in one chunked (`identity`, `chunked, gzip`,
      // chunked twice), which Node's parser refuses: RFC 9112 §6.3 says 400 (MUST), the body's
      // length being unknown. Codings before a final chunked reach plugins/edge/strict-http.ts (501).
      : new BadRequestError('malformed HTTP request')
  const status = error.statusCode as number
  const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status], code: error.code, message: error.message })
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
}
