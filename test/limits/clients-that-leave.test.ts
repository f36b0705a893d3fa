import t from 'tap'
import { connect as h2connect, constants as h2, type ClientHttp2Session } from 'node:http2'
import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { startBackend, startGateway, call, type TestBackend } from '../helper'
import { rawClient, track, within, type BackendRequestLog } from './support'
import { makeCerts } from '../tls/certs'
import { h2Call, startTlsGateway } from '../tls/gateway'
import { waitFor } from '../wait'

/** A backend whose /slow never answers (it records how each request ended), and whose other paths answer at once. */
async function slowBackend (t: Parameters<typeof startBackend>[0]): Promise<{ backend: TestBackend, slow: BackendRequestLog[] }> {
  const backend = await startBackend(t, 'b')
  const slow: BackendRequestLog[] = []
  backend.handle((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/slow') {
      slow.push(track(req, res))
      return
    }
    res.end('ok')
  })
  return { backend, slow }
}

// Two pooled connections and a queue the normal request would time out in if they stayed held.
function config (url: string) {
  return {
    upstreams: { u: { connections: 2, timeouts: { queue: '1s' }, passive: { maxFails: 1, failTimeout: '30s' }, servers: [{ url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }
}

t.test('HTTP/1.1: 16 clients that send a request to a slow backend and leave take their backend requests with them', async t => {
  const { backend, slow } = await slowBackend(t)
  const gw = await startGateway(t, config(backend.url))
  const server = gw.app.gatehouse.registry.get('u')!.backends.all()[0]
  const clients = await Promise.all(Array.from({ length: 16 }, async () => await rawClient(gw.port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')))
  // Two reach the backend (two connections), fourteen wait in the gateway's queue.
  await waitFor(() => slow.length === 2 && server.inflight === 16, { what: 'two requests at the backend, fourteen queued' })
  for (const c of clients) c.socket.destroy()
  await waitFor(() => server.inflight === 0, { what: 'every request given up' })
  await waitFor(() => slow.every(l => l.aborted), { what: 'the backend sees its requests aborted' })

  const next = await within('a normal request is served', 3000, call(`${gw.url}/ok`))
  t.equal(next.status, 200, 'not 503 GH_QUEUE_TIMEOUT: the connections were freed')
  t.equal(slow.length, 2, 'the queued requests of clients that left were never sent')
  t.ok(server.isReady(Date.now()), 'clients that leave eject no server')
})

t.test('HTTP/2: 64 streams reset on one connection ("rapid reset") take their backend requests with them', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const { backend, slow } = await slowBackend(t)
  const gw = await startTlsGateway(t, { ...config(backend.url), listen: { tls: { cert: site.cert, key: site.key }, http2: true } }, { baseDir: certs.dir, level: 'warn' })
  const server = gw.app.gatehouse.registry.get('u')!.backends.all()[0]
  const session = h2connect(gw.url, { ca: certs.caPem })
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  await once(session, 'remoteSettings')
  t.equal(session.remoteSettings.maxConcurrentStreams, 128, 'SETTINGS_MAX_CONCURRENT_STREAMS 128, as nginx')

  const streams = Array.from({ length: 64 }, () => {
    const s = session.request({ ':method': 'GET', ':path': '/slow' })
    s.on('error', () => {})
    s.end()
    return s
  })
  await waitFor(() => slow.length === 2 && server.inflight === 64, { what: 'two requests at the backend, the rest queued' })
  for (const s of streams) s.close(h2.NGHTTP2_CANCEL)
  await waitFor(() => server.inflight === 0, { what: 'every request given up' })
  await waitFor(() => slow.every(l => l.aborted), { what: 'the backend sees its requests aborted' })

  const next = await within('a normal request is served', 3000, h2Call(gw.url, { ca: certs.caPem, path: '/ok' }))
  t.equal(next.status, 200, 'not 503 GH_QUEUE_TIMEOUT: the connections were freed')
  t.equal(slow.length, 2, 'the queued requests of reset streams were never sent')
  t.ok(server.isReady(Date.now()), 'reset streams eject no server')
})

t.test('HTTP/2: a connection that keeps opening and resetting streams gets GOAWAY ENHANCE_YOUR_CALM', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const { backend } = await slowBackend(t)
  const gw = await startTlsGateway(t, { ...config(backend.url), listen: { tls: { cert: site.cert, key: site.key }, http2: true } }, { baseDir: certs.dir, level: 'warn' })
  const session: ClientHttp2Session = h2connect(gw.url, { ca: certs.caPem })
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  let goaway: number | undefined
  session.on('goaway', (code: number) => { goaway = code })
  // Streams the gateway took on this connection (the client may send more before it reads the GOAWAY: nghttp2 ignores those).
  let taken = 0
  gw.app.server.on('stream', () => { taken++ })
  // Plain listeners: once() would reject on the session's error event, which a GOAWAY with an error code brings.
  const closed = new Promise<void>(resolve => session.once('close', () => resolve()))
  await once(session, 'remoteSettings')
  let sent = 0
  let gone = false
  void closed.then(() => { gone = true })
  // One stream at a time, each reset once the gateway has it: never more than one open.
  while (!gone && goaway === undefined && sent < 2000) {
    let s
    try {
      s = session.request({ ':method': 'GET', ':path': '/slow' })
    } catch {
      break // the GOAWAY arrived: no new streams on this connection
    }
    s.on('error', () => {})
    s.end()
    if (s.pending) await Promise.race([new Promise(resolve => s.once('ready', resolve)), closed])
    s.close(h2.NGHTTP2_CANCEL)
    await Promise.race([new Promise(resolve => s.once('close', resolve)), closed])
    sent++
    // Let the connection's I/O run: a loop of stream events alone would never read the GOAWAY.
    await new Promise(resolve => setImmediate(resolve))
  }
  await within('the gateway closes the connection', 3000, closed)
  t.equal(goaway, h2.NGHTTP2_ENHANCE_YOUR_CALM, 'GOAWAY ENHANCE_YOUR_CALM')
  t.ok(taken > 100 && taken < 400, `the gateway took a bounded number of reset streams (${taken} of ${sent} sent)`)
  // The gateway itself serves the next connection as ever.
  t.equal((await h2Call(gw.url, { ca: certs.caPem, path: '/ok' })).status, 200)
})
