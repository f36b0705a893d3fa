import { Readable } from 'node:stream'

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

  constructor (private readonly source: Readable) {
    super()
    // Its failure is the attempt's, which undici reports; once undici is done with the view
    // (the backend answered) a late one, with no listener, would end the process.
    this.on('error', noop)
  }

  _read (): void {
    if (!this.started) {
      // The body failed before this view was first read (a filter cut it, a receive timeout):
      // its 'error' has been and gone, so take the failure as it stands.
      if (this.source.destroyed) {
        this.destroy(this.source.errored ?? new Error('the request body was closed'))
        return
      }
      this.started = true
      this.source.on('data', chunk => {
        if (!this.push(chunk)) this.source.pause()
      })
      this.source.once('end', () => this.push(null))
      this.source.once('error', err => this.destroy(err))
    }
    this.source.resume()
  }

  _destroy (err: Error | null, callback: (error?: Error | null) => void): void {
    // A view that started reading took the body with it; one that never did leaves it be.
    if (this.started && !this.source.destroyed) this.source.destroy(err ?? undefined)
    callback(err)
  }
}
