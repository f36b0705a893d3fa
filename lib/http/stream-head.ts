import type { Readable } from 'node:stream'

export type HeadResult =
  /** The stream holds at least `bytes` more; `head` is back at its front, unread. */
  | { head: Buffer, rest: true }
  /** The stream ended: `head` is its whole body. */
  | { head: Buffer, rest: false }
  /** It failed or was destroyed first. */
  | { error: Error }

/**
 * The first `bytes` bytes of a stream (or fewer when it ends first), put back with unshift so
 * that the stream is then read whole, from its start, by whoever pipes it. It is read in
 * paused mode ('readable'), which emits no 'pause': lib/http/stall-timer.ts's watchSend is not
 * fooled into counting a stall.
 */
export function readHead (stream: Readable, bytes: number, done: (result: HeadResult) => void): void {
  const chunks: Buffer[] = []
  let size = 0
  const finish = (result: HeadResult) => {
    stream.removeListener('readable', onReadable).removeListener('end', onEnd).removeListener('error', onError).removeListener('close', onClose)
    done(result)
  }
  const onReadable = () => {
    let chunk: Buffer | null
    while (size < bytes && (chunk = stream.read() as Buffer | null) !== null) {
      chunks.push(chunk)
      size += chunk.length
    }
    if (size < bytes) return
    const head = Buffer.concat(chunks)
    stream.unshift(head)
    finish({ head, rest: true })
  }
  const onEnd = () => finish({ head: Buffer.concat(chunks), rest: false })
  const onError = (error: Error) => finish({ error })
  const onClose = () => finish({ error: new Error('the stream closed before its end') })
  stream.on('readable', onReadable).once('end', onEnd).once('error', onError).once('close', onClose)
}
