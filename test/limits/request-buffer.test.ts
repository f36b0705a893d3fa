import t from 'tap'
import { startBackend, startGateway, call } from '../helper'
import { rawClient, within } from './support'
import { waitFor } from '../wait'

// limits.requestBuffer (nginx's proxy_request_buffering): a body up to that size is received
// whole before a server is chosen, so a client that trickles a small upload holds no pooled
// backend connection; while it is held, receiveTimeout is a deadline for the whole body.

function echoSize (b: Awaited<ReturnType<typeof startBackend>>): void {
  b.handle((req, res) => {
    let body = ''
    req.setEncoding('latin1')
    req.on('data', (c: string) => { body += c })
    req.on('end', () => res.end(`${req.url ?? ''}:${body}`))
  })
}

t.test('a trickled small upload does not occupy the only pooled connection', async t => {
  const b = await startBackend(t, 'b')
  echoSize(b)
  const gw = await startGateway(t, {
    // Nothing held for replay: the buffering is requestBuffer's alone (its default, 64 KiB).
    retryBodyLimit: 0,
    upstreams: { u: { connections: 1, timeouts: { queue: '500ms' }, servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const slow = await rawClient(gw.port, 'POST /upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello')
  t.teardown(() => slow.socket.destroy())

  // Meanwhile, with the upload half sent, other clients go through on the one connection.
  for (let i = 0; i < 3; i++) {
    const other = await within('another request is answered', 5_000, call(`${gw.url}/other${i}`))
    t.equal(other.status, 200, `request ${i} went through: ${other.body}`)
  }
  t.same(b.hits.map(h => h.url), ['/other0', '/other1', '/other2'], 'the upload has not reached the backend yet')

  slow.socket.write('world')
  const answer = await within('the upload is answered', 5_000, slow.closed)
  t.match(answer, /^HTTP\/1\.1 200 /)
  t.match(answer, /\/upload:helloworld$/, 'the backend got the whole body at once')
})

t.test('a body larger than requestBuffer still streams', async t => {
  const b = await startBackend(t, 'b')
  echoSize(b)
  const gw = await startGateway(t, {
    retryBodyLimit: 0,
    limits: { requestBuffer: 4 },
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const slow = await rawClient(gw.port, 'POST /big HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello')
  t.teardown(() => slow.socket.destroy())
  await waitFor(() => b.hits.length === 1, { what: 'the upload reaching the backend before its end' })
  slow.socket.write('world')
  t.match(await within('the upload is answered', 5_000, slow.closed), /\/big:helloworld$/)
})

t.test('while held, receiveTimeout is a deadline for the whole body, not reset by each chunk', async t => {
  const b = await startBackend(t, 'b')
  echoSize(b)
  const gw = await startGateway(t, {
    limits: { receiveTimeout: '400ms' },
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const slow = await rawClient(gw.port, 'POST /trickle HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1000\r\n\r\n')
  t.teardown(() => slow.socket.destroy())
  // A byte every 50 ms: a per-chunk timer of 400 ms would never fire.
  const timer = setInterval(() => { if (!slow.socket.destroyed) slow.socket.write('x') }, 50)
  t.teardown(() => clearInterval(timer))
  const answer = await within('the trickled upload is refused', 5_000, slow.closed)
  t.match(answer, /^HTTP\/1\.1 408 /)
  t.match(answer, /GH_RECEIVE_TIMEOUT/)
  t.equal(b.hits.length, 0, 'nothing reached the backend')
})

t.test('a GET body trickled to a maxBodySize route (read and dropped before forwarding) is held to receiveTimeout too', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    limits: { receiveTimeout: '400ms' },
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u', filters: { maxBodySize: 1000 } }]
  })
  const slow = await rawClient(gw.port, 'GET /trickle HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n')
  t.teardown(() => slow.socket.destroy())
  const timer = setInterval(() => { if (!slow.socket.destroyed) slow.socket.write('1\r\nx\r\n') }, 50)
  t.teardown(() => clearInterval(timer))
  const answer = await within('the trickled GET is refused', 5_000, slow.closed)
  t.match(answer, /^HTTP\/1\.1 408 /)
  t.equal(b.hits.length, 0, 'nothing reached the backend')
})
