import { constants, type Http2Session, type ServerHttp2Stream } from 'node:http2'
import type { EventEmitter } from 'node:events'

const { NGHTTP2_PROTOCOL_ERROR } = constants
/** nghttp2's NGHTTP2_ERR_PROTO: what it reports for a frame that breaks the protocol. */
const NGHTTP2_ERR_PROTO = -505
/** Turns of the event loop to wait for nghttp2's own RST_STREAM to go out. */
const WAIT_TURNS = 3

const kStreamResets = Symbol('gatehouse.protocolResets')
const kOwner = Symbol('gatehouse.session')

type Session = Http2Session & { [kStreamResets]?: number }
// Node clears stream.session before 'close': the session is kept on the stream for it.
type Stream = ServerHttp2Stream & { [kOwner]?: Session }

/**
 * Keeps a malformed request's stream error on its stream. RFC 9113 §8.1.1: DATA that
 * disagrees with content-length makes the request malformed, a stream error
 * (PROTOCOL_ERROR), as nginx answers it (400 on that stream, the connection goes on).
 *
 * nghttp2 1.61 (Node 20) reset such a stream itself and told Node nothing else. nghttp2 1.70
 * (Node 24.22) also reports DATA past the declared content-length to Node's invalid-frame
 * callback, as NGHTTP2_ERR_PROTO, after it has queued RST_STREAM PROTOCOL_ERROR for the
 * stream; and Node turns every NGHTTP2_ERR_PROTO into session.destroy(): GOAWAY
 * INTERNAL_ERROR, and every other stream on the connection dies with it. Behind a CDN or
 * load balancer that multiplexes many users on one connection, one user's malformed upload
 * would so cut everyone else's requests.
 *
 * The same NGHTTP2_ERR_PROTO also reports connection errors (a HEADERS frame on an even stream
 * id, DATA on stream 0), where nghttp2 sends GOAWAY PROTOCOL_ERROR itself and the socket must
 * be destroyed. So that destroy is put off for a few turns of the loop: if, meanwhile, a
 * stream of the session closes with PROTOCOL_ERROR (nghttp2's RST_STREAM went out), the error
 * was the stream's and the session is kept; otherwise it is destroyed as Node would have.
 * A client that sends many malformed requests is still bounded by maxSessionInvalidFrames
 * (each is one invalid frame, and past the bound Node's error is another one, not put off).
 * Should a connection error come in the same few turns as a stream's, the session is kept
 * though nghttp2 has ended it: Fastify's http2SessionTimeout then closes the idle socket.
 */
export function keepStreamErrorsOnStreams (server: EventEmitter): void {
  server.on('session', (session: Session) => {
    session[kStreamResets] = 0
    session.on('stream', onStream)
    const destroy = session.destroy
    session.destroy = function (this: Session, error?: Error, code?: number): void {
      if (!isProtocolError(error) || this.destroyed) {
        destroy.call(this, error, code)
        return
      }
      const before = this[kStreamResets] ?? 0
      let turns = 0
      const decide = (): void => {
        if (this.destroyed) return
        if ((this[kStreamResets] ?? 0) > before) return
        if (++turns < WAIT_TURNS) setImmediate(decide)
        else destroy.call(this, error, code)
      }
      setImmediate(decide)
    } as Http2Session['destroy']
  })
}

function onStream (this: Session, stream: Stream): void {
  stream[kOwner] = this
  stream.once('close', onStreamClose)
}

function onStreamClose (this: Stream): void {
  const session = this[kOwner]
  this[kOwner] = undefined
  if (this.rstCode !== NGHTTP2_PROTOCOL_ERROR || session?.[kStreamResets] === undefined) return
  session[kStreamResets] += 1
}

function isProtocolError (error: unknown): boolean {
  const e = error as { code?: unknown, errno?: unknown } | undefined
  return e instanceof Error && e.code === 'ERR_HTTP2_ERROR' && e.errno === NGHTTP2_ERR_PROTO
}
