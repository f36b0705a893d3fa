import { constants, type Http2Session, type ServerHttp2Stream } from 'node:http2'
import type { EventEmitter } from 'node:events'

const { NGHTTP2_ENHANCE_YOUR_CALM } = constants

export interface ResetBound {
  /** Resets a connection may send at once. */
  burst: number
  /** Resets a second it earns back, up to `burst`. */
  rate: number
}

/** How long a connection told to go away may take to close on its own. */
const GRACE = 1_000

const kBucket = Symbol('gatehouse.resetBucket')

interface Bucket {
  tokens: number
  at: number
  bound: ResetBound
}

type Session = Http2Session & { [kBucket]?: Bucket }

/**
 * Bounds the streams a client may open and then reset itself (the "rapid reset" attack,
 * CVE-2023-44487: each reset stream costs the gateway a request, and a backend request,
 * while never counting against SETTINGS_MAX_CONCURRENT_STREAMS). A token bucket per
 * connection, as nghttp2's own stream reset limit: past it the connection gets GOAWAY
 * ENHANCE_YOUR_CALM and is closed. nghttp2 has the same bound (Node's streamResetBurst and
 * streamResetRate), but not every Node version sets or honours it, and where it does (Node 24)
 * its answer is GOAWAY INTERNAL_ERROR, which tells the client the server failed; so this bound
 * answers first, and nghttp2's is set past it as a backstop (lib/http/server-options.ts).
 * One listener per session and one per stream, both shared functions: no closure per stream.
 */
export function boundStreamResets (server: EventEmitter, bound: ResetBound): void {
  server.on('session', (session: Session) => {
    session[kBucket] = { tokens: bound.burst, at: Date.now(), bound }
    session.on('stream', onStream)
  })
}

function onStream (this: Session, stream: ServerHttp2Stream): void {
  stream.once('aborted', onAborted)
}

// 'aborted': the peer reset the stream before the gateway had ended it.
function onAborted (this: ServerHttp2Stream): void {
  const session = this.session as Session | undefined
  const bucket = session?.[kBucket]
  if (session === undefined || bucket === undefined || session.destroyed) return
  const now = Date.now()
  bucket.tokens = Math.min(bucket.bound.burst, bucket.tokens + (now - bucket.at) * bucket.bound.rate / 1000)
  bucket.at = now
  bucket.tokens -= 1
  if (bucket.tokens >= 0) return
  session[kBucket] = undefined
  // Out of nghttp2's callback that reported the reset: a GOAWAY queued from inside it (or a
  // destroy()) is not written until something else is, and the client goes on meanwhile.
  setImmediate(sendAway, session)
}

function sendAway (session: Http2Session): void {
  if (session.destroyed) return
  // GOAWAY with the reason; the connection closes once the streams it still has end, or
  // after a short grace if they do not.
  session.goaway(NGHTTP2_ENHANCE_YOUR_CALM)
  session.close()
  setTimeout(destroyLater, GRACE, session).unref()
}

function destroyLater (session: Http2Session): void {
  if (!session.destroyed) session.destroy()
}
