import t from 'tap'
import { startBackend, startGateway, call } from '../helper'
import { rawClient, streamBytes, track, within, type BackendRequestLog } from './support'
import { waitFor } from '../wait'

// 64 MiB: far more than the kernel buffers on both sides of the client's connection hold, so a
// client that never reads leaves the gateway's write blocked.
const LARGE = 1024 * 64 * 1024

t.test('a client that stops reading is cut after sendTimeout, its backend request aborted and the pooled connection freed', async t => {
  const b = await startBackend(t, 'b')
  const logs: BackendRequestLog[] = []
  b.handle((req, res) => {
    if (req.url === '/large') {
      logs.push(track(req, res))
      streamBytes(res, LARGE)
    } else {
      res.end('small')
    }
  })
  const gw = await startGateway(t, {
    limits: { sendTimeout: '300ms' },
    // One pooled connection, and a queue long enough that the next request can only be
    // served by the gateway freeing the connection the stalled client holds.
    upstreams: { u: { connections: 1, timeouts: { queue: '10s' }, servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })

  const hostile = await rawClient(gw.port)
  hostile.socket.pause() // never reads: its receive buffer fills, then the gateway's send buffer
  hostile.socket.write('GET /large HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => logs.length === 1, { what: 'the backend streams the large answer' })

  const next = await within('a request behind the stalled client is served', 5_000, call(`${gw.url}/small`))
  t.equal(next.status, 200)
  t.equal(next.body, 'small')
  t.ok(logs[0].aborted, 'the backend saw the stalled client\'s request aborted')
  t.notOk(logs[0].finished, 'the backend never finished the large answer')

  hostile.socket.resume()
  const got = await within('the stalled client\'s connection is closed', 5_000, hostile.closed)
  t.ok(got.length < LARGE, 'the stalled client got only part of the answer')
})

t.test('a slow backend and an idle stream are not a stalled client: nothing is cut', async t => {
  const b = await startBackend(t, 'b')
  b.handle((req, res) => {
    if (req.url === '/slow') {
      // Headers after three send timeouts.
      setTimeout(() => res.end('late'), 600)
      return
    }
    // An event stream: one event, quiet for three send timeouts, then another.
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: one\n\n')
    setTimeout(() => res.end('data: two\n\n'), 600)
  })
  const gw = await startGateway(t, {
    limits: { sendTimeout: '200ms' },
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const slow = await call(`${gw.url}/slow`)
  t.equal(slow.status, 200)
  t.equal(slow.body, 'late')
  const events = await call(`${gw.url}/events`)
  t.equal(events.status, 200)
  t.equal(events.body, 'data: one\n\ndata: two\n\n')
})
