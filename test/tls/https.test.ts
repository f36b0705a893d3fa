import t from 'tap'
import { connect as tlsConnect } from 'node:tls'
import { connect as netConnect } from 'node:net'
import { once } from 'node:events'
import { startBackend } from '../helper'
import { waitFor } from '../wait'
import { makeCerts } from './certs'
import { httpsCall, startTlsGateway } from './gateway'

t.test('HTTPS at the front: GET and POST reach the backend, which is told the client used https', async t => {
  const certs = makeCerts(t)
  certs.leaf('site', 'gatehouse.test', ['gatehouse.test', '127.0.0.1'])
  const b = await startBackend(t, 'b')
  const gw = await startTlsGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: 'site.pem', key: 'site-key.pem' } }
  }, { baseDir: certs.dir })

  const get = await httpsCall(`${gw.url}/hello?x=1`, { ca: certs.caPem, servername: 'gatehouse.test' })
  t.equal(get.status, 200)
  t.equal(get.headers['x-backend'], 'b')
  t.equal(get.peerCN, 'gatehouse.test', 'the certificate the config names (path relative to baseDir)')
  t.equal(b.hits[0].url, '/hello?x=1')
  t.equal(b.hits[0].headers['x-forwarded-proto'], 'https')
  t.equal(b.hits[0].headers['x-forwarded-host'], `127.0.0.1:${gw.port}`)

  const body = 'a'.repeat(100_000)
  b.handle((req, res) => {
    let n = 0
    req.on('data', (c: Buffer) => { n += c.length })
    req.on('end', () => res.end(`${req.method} ${n}`))
  })
  const post = await httpsCall(`${gw.url}/upload`, { ca: certs.caPem, method: 'POST', headers: { 'content-type': 'text/plain' }, body })
  t.equal(post.status, 200)
  t.equal(post.body, 'POST 100000', 'the whole body went through')
})

t.test('a client TLS handshake that fails is logged at debug, costs no backend request, and the gateway keeps serving', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const b = await startBackend(t, 'b')
  const gw = await startTlsGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: site.cert, key: site.key, minVersion: 'TLSv1.3' } }
  }, { baseDir: certs.dir, level: 'debug' })

  // Plain HTTP to the TLS port, and a client that only speaks TLS 1.2 to a 1.3-only server.
  const plain = netConnect(gw.port, '127.0.0.1')
  await once(plain, 'connect')
  plain.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await once(plain, 'close')
  const old = tlsConnect({ port: gw.port, host: '127.0.0.1', ca: certs.caPem, maxVersion: 'TLSv1.2' })
  const [err] = await once(old, 'error').catch(e => [e])
  t.ok(err, 'the TLS 1.2 client is refused')
  old.destroy()

  await waitFor(() => gw.logs.filter(l => l.msg === 'TLS handshake with a client failed').length >= 2, { what: 'two debug lines' })
  const lines = gw.logs.filter(l => l.msg === 'TLS handshake with a client failed')
  t.ok(lines.every(l => l.level === 20), 'at debug')
  t.equal(b.hits.length, 0, 'no backend request')
  const ok = await httpsCall(`${gw.url}/after`, { ca: certs.caPem })
  t.equal(ok.status, 200, 'still serving')
})
