import { Readable } from 'node:stream'
import type { BodyTape } from '../grpc/body-tape'

function noop (): void {}

/**
 * A one-attempt view of a streamed request body that reads from the source only when the
 * consumer first asks for data. undici destroys a request's body when the connection fails
 * (refused, connect timeout) without having read from it; handing it a view rather than the
 * body itself leaves the body untouched in that case, so the request can still go whole to
 * another server. Once the view has read anything, the body is spent with it.
 */
export class BodyView extends Readable {
  private started = false
  private onData: ((chunk: Buffer) => void) | null = null
  private onEnd: (() => void) | null = null
  private onError: ((err: Error) => void) | null = null

  /** With a `tape`, what the source gave earlier views is replayed first, and a view that goes leaves the source be while the tape holds all it read. */
  constructor (private readonly source: Readable, private readonly tape?: BodyTape) {
    super()
    // Its failure is the attempt's, which undici reports; once undici is done with the view
    // (the backend answered) a late one, with no listener, would end the process.
    this.on('error', noop)
  }

  _read (): void {
    if (!this.started && this.tape?.ended === true && !this.tape.overflowed) {
      // An earlier attempt read the whole body: it is all on the tape.
      this.started = true
      for (const chunk of this.tape.chunks) this.push(chunk)
      this.push(null)
      return
    }
    if (!this.started) {
      // The body failed before this view was first read (a filter cut it, a receive timeout):
      // its 'error' has been and gone, so take the failure as it stands.
      if (this.source.destroyed) {
        this.destroy(this.source.errored ?? new Error('the request body was closed'))
        return
      }
      this.started = true
      const tape = this.tape
      if (tape !== undefined) {
        for (const chunk of tape.chunks) this.push(chunk)
        if (tape.ended) {
          this.push(null)
          return
        }
      }
      this.onData = chunk => {
        tape?.record(chunk)
        if (!this.push(chunk)) this.source.pause()
      }
      this.onEnd = () => {
        if (tape !== undefined) tape.ended = true
        this.push(null)
      }
      this.onError = err => this.destroy(err)
      this.source.on('data', this.onData)
      this.source.once('end', this.onEnd)
      this.source.once('error', this.onError)
    }
    this.source.resume()
  }

  _destroy (err: Error | null, callback: (error?: Error | null) => void): void {
    // A view that started reading took the body with it; one that never did leaves it be,
    // and so does one whose tape holds all it read (the next attempt replays it).
    if (this.started && !this.source.destroyed) {
      if (this.tape !== undefined && !this.tape.overflowed) this.detach()
      else this.source.destroy(err ?? undefined)
    }
    callback(err)
  }

  private detach (): void {
    if (this.onData !== null) this.source.removeListener('data', this.onData)
    if (this.onEnd !== null) this.source.removeListener('end', this.onEnd)
    if (this.onError !== null) this.source.removeListener('error', this.onError)
    this.source.pause()
  }
}
