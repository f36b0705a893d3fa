import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { createBrotliDecompress } from 'node:zlib'
import { request } from 'undici'
import { startCompressing } from './support'
import { waitFor } from '../../wait'

interface Progress { bytes: number, blocked: boolean, finished: boolean, hash: ReturnType<typeof createHash> }

/**
 * A backend streaming `total` bytes of base64 text from fresh random bytes, which brotli leaves
 * at about three quarters of its size (no repeats for its window to find), honouring backpressure.
 */
function streamText (total: number, progress: Progress): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) })
    const pump = (): void => {
      progress.blocked = false
      while (progress.bytes < total && !res.destroyed) {
        const chunk = Buffer.from(randomBytes(48 * 1024).toString('base64')).subarray(0, Math.min(65_536, total - progress.bytes))
        progress.hash.update(chunk)
        progress.bytes += chunk.length
        if (!res.write(chunk)) {
          progress.blocked = true
          res.once('drain', pump)
          return
        }
      }
      res.end()
      progress.finished = true
    }
    pump()
  }
}

const progress = (): Progress => ({ bytes: 0, blocked: false, finished: false, hash: createHash('sha256') })

t.test('a large answer is encoded as a stream: the backend is held back while the client does not read', async t => {
  // 32 MiB, encoded about 24: more than the sockets between the gateway and the client hold.
  const total = 32 * 1024 * 1024
  const sent = progress()
  const gw = await startCompressing(t, streamText(total, sent))
  const res = await request(`${gw.url}/large`, { headers: { 'accept-encoding': 'br' } })
  t.equal(res.headers['content-encoding'], 'br')
  t.equal(res.headers['content-length'], undefined)
  // Held: blocked, and no further byte over 20 polls. A gateway that buffered the body whole
  // would have read it all (finished), and this would time out.
  let last = -1
  let still = 0
  await waitFor(() => {
    still = sent.bytes === last ? still + 1 : 0
    last = sent.bytes
    return sent.blocked && still >= 20
  }, { what: 'the backend held back by the unread client', every: 10 })
  t.notOk(sent.finished, `the backend is held at ${Math.round(sent.bytes / 1048576)} MiB of 32`)
  res.body.destroy()
})

t.test('a large encoded answer decodes to exactly the backend\'s bytes (sha256)', async t => {
  const total = 8 * 1024 * 1024
  const sent = progress()
  const gw = await startCompressing(t, streamText(total, sent))
  const res = await request(`${gw.url}/large`, { headers: { 'accept-encoding': 'br' } })
  t.equal(res.headers['content-encoding'], 'br')
  const received = createHash('sha256')
  let decoded = 0
  await pipeline(res.body, createBrotliDecompress(), new Writable({
    write (chunk: Buffer, _encoding, done) {
      received.update(chunk)
      decoded += chunk.length
      done()
    }
  }))
  t.equal(decoded, total, 'every byte, decoded')
  t.equal(received.digest('hex'), sent.hash.digest('hex'), 'sha256 of the decoded body is the backend\'s')
})
