import { Transform, type TransformCallback } from 'node:stream'

/**
 * Passes a response body through unchanged while keeping a copy for the store, as long as the
 * copy stays within `limit` bytes: past it the copy is dropped and the rest only streams, so a
 * body too large to cache never costs more than `limit` of memory, and nothing waits on it.
 * `done` gets the whole body once it has passed, or null (too large, or the stream failed).
 */
export class Capture extends Transform {
  private chunks: Buffer[] | null = []
  private bytes = 0
  private finished = false

  constructor (private readonly limit: number, private readonly done: (body: Buffer | null) => void) {
    super()
  }

  _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.chunks !== null) {
      this.bytes += chunk.length
      if (this.bytes > this.limit) this.chunks = null
      else this.chunks.push(chunk)
    }
    callback(null, chunk)
  }

  _flush (callback: TransformCallback): void {
    this.finish(this.chunks === null ? null : Buffer.concat(this.chunks, this.bytes))
    callback()
  }

  _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.finish(null)
    callback(error)
  }

  private finish (body: Buffer | null): void {
    if (this.finished) return
    this.finished = true
    this.chunks = null
    this.done(body)
  }
}
