import t from 'tap'
import { randomBytes } from 'node:crypto'
import { startBackend, startGateway, call } from '../../helper'
import { rawClient, streamBytes, track, within, type BackendRequestLog } from '../../limits/support'
import { waitFor } from '../../wait'

// 64 MiB of text that gzip leaves at about three quarters of its size (base64 of random bytes,
// in chunks longer than gzip's 32 KiB window): far more, encoded, than the kernel buffers of
// the client's connection hold, so a client that never reads blocks the gateway's writes.
const LARGE = 64 * 1024 * 1024
const CHUNK = Buffer.from(randomBytes(48 * 1024).toString('base64'))

t.test('a client that stops reading an encoded answer is still cut after sendTimeout, its backend request aborted', async t => {
  const b = await startBackend(t, 'b')
  const logs: BackendRequestLog[] = []
  b.handle((req, res) => {
    if (req.url === '/large') {
      logs.push(track(req, res))
      streamBytes(res, LARGE, { chunk: CHUNK, headers: { 'content-type': 'text/plain' } })
    } else {
      res.end('small')
    }
  })
  const gw = await startGateway(t, {
    limits: { sendTimeout: '300ms' },
    compress: { encodings: ['gzip'] },
    // One pooled connection: the next request is served only once the stalled one's is freed.
    upstreams: { u: { connections: 1, timeouts: { queue: '10s' }, servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })

  const hostile = await rawClient(gw.port)
  hostile.socket.pause()
  hostile.socket.write('GET /large HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n')
  await waitFor(() => logs.length === 1, { what: 'the backend streams the large answer' })

  const next = await within('a request behind the stalled client is served', 5_000, call(`${gw.url}/small`))
  t.equal(next.body, 'small')
  t.ok(logs[0].aborted, 'the backend saw the stalled client\'s request aborted')
  t.notOk(logs[0].finished, 'the backend never finished the large answer')

  hostile.socket.resume()
  const got = await within('the stalled client\'s connection is closed', 5_000, hostile.closed)
  t.match(got, /^HTTP\/1\.1 200 OK\r\n/, 'it had started to get the answer')
  t.match(got.slice(0, got.indexOf('\r\n\r\n')), /\r\ncontent-encoding: gzip\r\n/i, 'encoded')
  t.ok(got.length < LARGE / 2, 'and got only part of it')
})
