import t from 'tap'
import { once } from 'node:events'
import { Agent } from 'undici'
import { Backend } from '../../lib/upstreams/backend'
import { DEFAULT_HEALTH, type HealthCheckOptions } from '../../lib/config'
import { createCheckers } from '../../lib/upstreams/health'
import { tcpCheck } from '../../lib/upstreams/health/tcp-check'
import { startBackend, type TestBackend } from '../helper'
import { serveHealth } from './fixtures/support'

function backendFor (b: { url: string }): Backend {
  const origin = b.url
  return new Backend({ id: 'b', url: b.url, origin, weight: 1, backup: false })
}

// A generous timeout for checks meant to pass: on a loaded 2-core machine 200 ms was missed.
const options = (extra: Partial<HealthCheckOptions> = {}): HealthCheckOptions => ({ ...DEFAULT_HEALTH, timeout: 2000, ...extra })

// Nothing can listen on port 0, so a connection there is always refused; a port bound and
// released instead could be taken meanwhile by another test file running in parallel.
const NOTHING_LISTENS = 'http://127.0.0.1:0'

t.test('http check', async t => {
  const agent = new Agent()
  t.teardown(() => agent.destroy())
  const { http } = createCheckers(agent)
  let backend: TestBackend

  t.beforeEach(async t => { backend = await startBackend(t, 'b') })

  t.test('passes on a status in range and sends path and Host', async t => {
    serveHealth(backend, { status: 204 })
    t.same(await http(backendFor(backend), options({ path: '/healthz?full=1', host: 'svc.internal' })), { ok: true, reason: 'status 204' })
    t.equal(backend.hits[0].url, '/healthz?full=1')
    t.equal(backend.hits[0].headers.host, 'svc.internal')
  })

  t.test('without host, the Host header is the server itself', async t => {
    serveHealth(backend)
    await http(backendFor(backend), options())
    t.equal(backend.hits[0].headers.host, `127.0.0.1:${backend.port}`)
  })

  t.test('fails on a status out of range', async t => {
    serveHealth(backend, { status: 503 })
    t.same(await http(backendFor(backend), options()), { ok: false, reason: 'status 503' })
    serveHealth(backend, { status: 404 })
    t.same(await http(backendFor(backend), options({ expectStatus: [200, 299] })), { ok: false, reason: 'status 404' })
    t.same(await http(backendFor(backend), options({ expectStatus: [200, 404] })), { ok: true, reason: 'status 404' })
  })

  t.test('fails with "timeout" when no answer comes within timeout', async t => {
    serveHealth(backend, { status: 'hang' })
    const start = Date.now()
    t.same(await http(backendFor(backend), options({ timeout: 100 })), { ok: false, reason: 'timeout' })
    const took = Date.now() - start
    t.ok(took >= 90 && took < 1000, `gave up after about the timeout (${took} ms)`)
  })

  t.test('fails with the error code when nothing listens', async t => {
    t.same(await http(backendFor({ url: NOTHING_LISTENS }), options()), { ok: false, reason: 'ECONNREFUSED' })
  })

  t.test('reads the body, so that a big one does not hold the check', async t => {
    backend.handle((req, res) => { res.end(Buffer.alloc(256 * 1024, 'x')) })
    t.same(await http(backendFor(backend), options()), { ok: true, reason: 'status 200' })
  })
})

t.test('tcp check', async t => {
  const tcp = tcpCheck

  t.test('passes when a connection opens, and closes it', async t => {
    const backend = await startBackend(t, 'b')
    const accepted = once(backend.server, 'connection')
    t.same(await tcp(backendFor(backend), options({ type: 'tcp' })), { ok: true, reason: 'connected' })
    const [socket] = await accepted
    if (!socket.destroyed) await once(socket, 'close')
    t.equal(backend.hits.length, 0, 'no HTTP request was sent')
  })

  t.test('fails with the error code when nothing listens', async t => {
    t.same(await tcp(backendFor({ url: NOTHING_LISTENS }), options({ type: 'tcp' })), { ok: false, reason: 'ECONNREFUSED' })
  })
})
