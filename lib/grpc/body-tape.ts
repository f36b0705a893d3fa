import type { Readable } from 'node:stream'

/**
 * How much of a streamed gRPC request body is kept to send it again after a refused
 * stream: a unary call or the first messages of a stream (Envoy keeps up to its buffer
 * limit for retries the same way). Past it the call can no longer be replayed.
 */
export const REPLAY_LIMIT = 64 * 1024

/**
 * What the attempts of one streamed request body read from it so far, while that is within
 * REPLAY_LIMIT: a later attempt's view replays it before reading on (lib/http/body-view.ts).
 * Only for requests that a backend may refuse unstarted and that are then worth resending:
 * gRPC calls, whose bodies always stream.
 */
export class BodyTape {
  chunks: Buffer[] = []
  private bytes = 0
  /** More was read than is kept: the body cannot be sent again. */
  overflowed = false
  /** The source ended: a replay ends after the kept chunks. */
  ended = false

  record (chunk: Buffer): void {
    if (this.overflowed) return
    this.bytes += chunk.length
    if (this.bytes > REPLAY_LIMIT) {
      this.overflowed = true
      this.chunks = []
    } else {
      this.chunks.push(chunk)
    }
  }
}

const tapes = new WeakMap<Readable, BodyTape>()

/** The tape of a source body, made on first use. */
export function tapeFor (source: Readable): BodyTape {
  let tape = tapes.get(source)
  if (tape === undefined) {
    tape = new BodyTape()
    tapes.set(source, tape)
  }
  return tape
}

/** Whether `source` can still be sent whole: its tape holds all of it, or all that was read of a source still open. */
export function replayableFromTape (source: unknown): boolean {
  const tape = tapes.get(source as Readable)
  // An ended source is destroyed (autoDestroy) with all of it on the tape.
  return tape !== undefined && !tape.overflowed && (tape.ended || !(source as Readable).destroyed)
}

/** The answer has come: no attempt will replay the body, and what the tape holds is let go. */
export function dropTape (source: unknown): void {
  const tape = tapes.get(source as Readable)
  if (tape === undefined) return
  tape.overflowed = true
  tape.chunks = []
}
