import t from 'tap'
import { connect as h2connect, constants as h2 } from 'node:http2'
import { startBackend, startGateway, call } from '../helper'
import { rawClient, within } from '../limits/support'
import { makeCerts } from '../tls/certs'
import { startTlsGateway } from '../tls/gateway'
import { waitFor } from '../wait'

const MAX_FAILS = 2
const SERVERS = 2
// More than the failures it takes to eject every server.
const N = MAX_FAILS * SERVERS * 3

function upstreams (urls: string[]) {
  return { u: { passive: { maxFails: MAX_FAILS, failTimeout: '30s' }, servers: urls.map(url => ({ url })) } }
}

t.test('HTTP/1.1: header bytes that no backend request may carry are refused with 400, and no server is ejected', async t => {
  const backends = await Promise.all(['a', 'b'].map(n => startBackend(t, n)))
  const gw = await startGateway(t, { upstreams: upstreams(backends.map(b => b.url)), routes: [{ match: { path: '/*' }, upstream: 'u' }] })
  for (let i = 0; i < N; i++) {
    // DEL (0x7f): undici would refuse to send it; Node's HTTP/1.1 parser already refuses it on the way in.
    const c = await rawClient(gw.port, `GET /x HTTP/1.1\r\nHost: x\r\nX-Odd: a\x7fb\r\nConnection: close\r\n\r\n`)
    const got = await within('an answer', 3000, c.closed)
    t.match(got, /^HTTP\/1\.1 400 /, `request ${i}: 400`)
  }
  const upstream = gw.app.gatehouse.registry.get('u')!
  for (const s of upstream.backends.all()) t.ok(s.isReady(Date.now()), `server ${s.id} still ready`)
  t.equal(backends[0].hits.length + backends[1].hits.length, 0, 'nothing reached a backend')
  t.equal((await call(`${gw.url}/ok`)).status, 200)
})

t.test('HTTP/2: OPTIONS *, a path h2 takes and undici refuses, is answered by the gateway, and no server is ejected', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const backends = await Promise.all(['a', 'b'].map(n => startBackend(t, n)))
  const gw = await startTlsGateway(t, {
    upstreams: upstreams(backends.map(b => b.url)),
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: site.cert, key: site.key }, http2: true }
  }, { baseDir: certs.dir, level: 'warn' })
  const session = h2connect(gw.url, { ca: certs.caPem })
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  const ask = (headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
    const s = session.request({ ':method': 'GET', ':path': '/x', ...headers })
    let status = 0
    s.on('response', h => { status = Number(h[':status']) })
    s.on('error', reject)
    s.on('close', () => resolve(status))
    s.resume()
    s.end()
  })
  for (let i = 0; i < N; i++) {
    // `OPTIONS *` (the asterisk form): h2 takes it and undici would refuse a path that is not
    // one, so it is answered by the gateway itself, as over HTTP/1.1, and never forwarded.
    const status = await ask({ ':method': 'OPTIONS', ':path': '*' })
    t.equal(status, 200, `OPTIONS * ${i}: answered by the gateway`)
  }
  const upstream = gw.app.gatehouse.registry.get('u')!
  for (const s of upstream.backends.all()) t.ok(s.isReady(Date.now()), `server ${s.id} still ready`)
  t.equal(backends[0].hits.length + backends[1].hits.length, 0, 'nothing reached a backend')
  t.equal(await ask({}), 200)
})

t.test('HTTP/1.1: uploads the client cuts midway eject no server, and are not retried', async t => {
  const backends = await Promise.all(['a', 'b'].map(n => startBackend(t, n)))
  let started = 0
  for (const b of backends) {
    b.handle((req, res) => {
      started++
      req.on('error', () => {})
      req.resume()
      req.on('end', () => res.end('done'))
    })
  }
  const gw = await startGateway(t, { upstreams: upstreams(backends.map(b => b.url)), routes: [{ match: { path: '/*' }, upstream: 'u' }] })
  const chunk = 'x'.repeat(256 * 1024)
  for (let i = 0; i < N; i++) {
    // More than the gateway holds for replay: the upload streams to a backend, then stops.
    const c = await rawClient(gw.port, `POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * chunk.length}\r\n\r\n${chunk}`)
    await waitFor(() => started === i + 1, { what: `upload ${i} reaches a backend` })
    c.socket.destroy()
    await c.closed
  }
  const upstream = gw.app.gatehouse.registry.get('u')!
  await waitFor(() => upstream.backends.all().every(s => s.inflight === 0), { what: 'every cut upload released' })
  for (const s of upstream.backends.all()) t.ok(s.isReady(Date.now()), `server ${s.id} still ready`)
  t.equal(started, N, 'each cut upload went to one backend, none retried')
  t.equal((await call(`${gw.url}/ok`)).status, 200)
})
