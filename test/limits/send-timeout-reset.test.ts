import t from 'tap'
import { connect } from 'node:net'
import { connect as h2connect, constants as h2 } from 'node:http2'
import { once } from 'node:events'
import { startBackend, startGateway } from '../helper'
import { streamBytes, track, within, type BackendRequestLog } from './support'
import { waitFor } from '../wait'
import { makeCerts } from '../tls/certs'
import { startTlsGateway } from '../tls/gateway'

// Far more than the kernel buffers on both sides hold: the gateway's write stays blocked.
const LARGE = 64 * 1024 * 1024

t.test('a client cut at sendTimeout gets a reset, not a FIN: its unsent bytes are dropped (nginx\'s reset_timedout_connection)', async t => {
  const b = await startBackend(t, 'b')
  const logs: BackendRequestLog[] = []
  b.handle((req, res) => {
    logs.push(track(req, res))
    streamBytes(res, LARGE)
  })
  const gw = await startGateway(t, {
    limits: { sendTimeout: '200ms' },
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const socket = connect(gw.port, '127.0.0.1')
  let error: NodeJS.ErrnoException | undefined
  socket.on('error', (err: NodeJS.ErrnoException) => { error = err })
  // Not once(): it would reject on the error this test waits for.
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
  await once(socket, 'connect')
  socket.pause() // never reads until the gateway has cut it
  socket.write('GET /large HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => logs.length === 1 && logs[0].aborted, { what: 'the gateway cuts the stalled client (and aborts its backend request)' })
  // A paused socket sees nothing. After a reset the connection is gone on the client's side
  // too, and its next write fails with ECONNRESET; after a FIN the write is taken and the
  // client goes on reading the megabytes the gateway's kernel still holds for it.
  socket.write('\r\n', () => socket.resume())
  await within('the client socket closes', 5000, closed)
  t.equal(error?.code, 'ECONNRESET', 'the client sees a reset')
})

t.test('over HTTP/2 the stalled stream is reset (RST_STREAM CANCEL), and the connection serves on', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const b = await startBackend(t, 'b')
  const logs: BackendRequestLog[] = []
  b.handle((req, res) => {
    if (req.url !== '/large') {
      res.end('small')
      return
    }
    logs.push(track(req, res))
    streamBytes(res, LARGE)
  })
  const gw = await startTlsGateway(t, {
    limits: { sendTimeout: '200ms' },
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: site.cert, key: site.key }, http2: true }
  }, { baseDir: certs.dir, level: 'warn' })
  const session = h2connect(gw.url, { ca: certs.caPem })
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  const stalled = session.request({ ':method': 'GET', ':path': '/large' })
  stalled.on('error', () => {})
  stalled.pause() // never reads: the stream's flow-control window fills
  stalled.end()
  const closed = new Promise<number>(resolve => stalled.once('close', () => resolve(stalled.rstCode ?? -1)))
  await waitFor(() => logs.length === 1 && logs[0].aborted, { what: 'the gateway cuts the stalled stream (and aborts its backend request)' })
  stalled.resume()
  t.equal(await within('the stalled stream closes', 5000, closed), h2.NGHTTP2_CANCEL, 'RST_STREAM CANCEL')
  const next = session.request({ ':method': 'GET', ':path': '/small' })
  let body = ''
  next.setEncoding('utf8').on('data', (c: string) => { body += c })
  next.end()
  await within('the same connection answers', 5000, new Promise(resolve => next.once('end', resolve)))
  t.equal(body, 'small')
})
