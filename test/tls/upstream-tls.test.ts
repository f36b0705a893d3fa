import t from 'tap'
import { readFileSync } from 'node:fs'
import { startLoggedGateway, call } from '../helper'
import { waitFor } from '../wait'
import { makeCerts } from './certs'
import { startTlsBackend } from './gateway'

// Each upstream below gets a backend of its own, so that what reached each one is its own.

t.test('a backend with a private CA: trusted with tls.ca, 502 GH_UPSTREAM_TLS without, with a warning naming server and reason', async t => {
  const certs = makeCerts(t)
  const leaf = certs.leaf('backend', 'backend.internal', ['backend.internal', '127.0.0.1'])
  const serve = { cert: leaf.pem(), key: readFileSync(leaf.key, 'utf8') }
  const [trusted, named, wrong, system] = await Promise.all(['trusted', 'named', 'wrong', 'system'].map(n => startTlsBackend(t, n, serve)))
  const gw = await startLoggedGateway(t, {
    upstreams: {
      trusted: { servers: [{ url: trusted.url }], tls: { ca: certs.ca } },
      named: { servers: [{ url: named.url }], tls: { ca: certs.ca, servername: 'backend.internal' } },
      wrongName: { servers: [{ url: wrong.url, id: 'wrong' }], tls: { ca: certs.ca, servername: 'other.internal' }, retries: 0, passive: { maxFails: 1, maxEjectionPercent: 100 } },
      system: { servers: [{ url: system.url, id: 'system' }], retries: 0, passive: { maxFails: 1, maxEjectionPercent: 100 } }
    },
    routes: [
      { match: { path: '/trusted' }, upstream: 'trusted' },
      { match: { path: '/named' }, upstream: 'named' },
      { match: { path: '/wrong' }, upstream: 'wrongName' },
      { match: { path: '/system' }, upstream: 'system' }
    ]
  })
  t.equal((await call(`${gw.url}/trusted`)).status, 200, 'the private CA is trusted with tls.ca')
  t.equal((await call(`${gw.url}/named`)).status, 200, 'and with a servername other than the URL host')
  t.equal(named.hits.length, 1)

  const unknown = await call(`${gw.url}/system`)
  t.equal(unknown.status, 502)
  t.equal(unknown.json().code, 'GH_UPSTREAM_TLS', 'only the system CAs: refused')
  const wrongName = await call(`${gw.url}/wrong`)
  t.equal(wrongName.status, 502)
  t.equal(wrongName.json().code, 'GH_UPSTREAM_TLS')
  t.equal(system.hits.length + wrong.hits.length, 0, 'neither request reached its backend')

  const warned = (server: string) => gw.logs.find(l => l.msg === 'TLS with the server failed' && l.server === server)
  t.match(warned('system'), { level: 40, upstream: 'system', reason: /unknown CA/ }, 'a warning naming server and reason')
  t.match(warned('wrong'), { level: 40, upstream: 'wrongName', reason: 'wrong name' })
  t.ok(gw.logs.some(l => l.msg === 'server ejected after failed attempts' && l.server === 'system'), 'counted as a failed attempt: ejected at maxFails 1')
})

t.test('a backend that requires a client certificate (mutual TLS), and health checks with the same TLS settings', async t => {
  const certs = makeCerts(t)
  const leaf = certs.leaf('backend', 'backend.internal', ['127.0.0.1'])
  const client = certs.leaf('client', 'gatehouse-client', ['gatehouse-client'], { clientAuth: true })
  const serve = { cert: leaf.pem(), key: readFileSync(leaf.key, 'utf8'), ca: certs.caPem, requestCert: true, rejectUnauthorized: true }
  const [mtls, insecure] = await Promise.all(['mtls', 'insecure'].map(n => startTlsBackend(t, n, serve)))
  // Under TLS 1.2 the server refuses the handshake itself. Under TLS 1.3 the client's side of the
  // handshake is over before the server reads its certificate (RFC 8446 §4.4.2.4), and undici
  // reports the alert that follows as the socket closing: a plain 502, tested below.
  const nocert = await startTlsBackend(t, 'nocert', { ...serve, maxVersion: 'TLSv1.2' })
  const nocert13 = await startTlsBackend(t, 'nocert13', serve)
  const gw = await startLoggedGateway(t, {
    upstreams: {
      mtls: { servers: [{ url: mtls.url }], tls: { ca: certs.ca, cert: client.cert, key: client.key }, healthCheck: { interval: 50, path: '/health' } },
      nocert: { servers: [{ url: nocert.url, id: 'nocert' }], tls: { ca: certs.ca }, retries: 0 },
      nocert13: { servers: [{ url: nocert13.url }], tls: { ca: certs.ca }, retries: 0 },
      insecure: { servers: [{ url: insecure.url }], tls: { rejectUnauthorized: false, cert: client.cert, key: client.key } }
    },
    routes: [
      { match: { path: '/m' }, upstream: 'mtls' },
      { match: { path: '/n' }, upstream: 'nocert' },
      { match: { path: '/n13' }, upstream: 'nocert13' },
      { match: { path: '/i' }, upstream: 'insecure' }
    ]
  })
  t.ok(gw.logs.some(l => l.level === 40 && l.upstream === 'insecure' && /rejectUnauthorized/.test(l.msg)), 'rejectUnauthorized false: a warning at start')
  t.notOk(gw.logs.some(l => l.upstream === 'mtls' && /rejectUnauthorized/.test(l.msg)), 'and only for that upstream')
  await waitFor(() => mtls.hits.some(h => h.url === '/health'), { what: 'a health check over mTLS' })
  t.equal(mtls.hits.find(h => h.url === '/health')?.clientCN, 'gatehouse-client', 'health checks present the client certificate too')

  const ok = await call(`${gw.url}/m`)
  t.equal(ok.status, 200)
  t.equal(mtls.hits.find(h => h.url === '/m')?.clientCN, 'gatehouse-client', 'the backend saw the client certificate')
  t.equal((await call(`${gw.url}/i`)).status, 200, 'an unverified upstream still connects')

  const refused = await call(`${gw.url}/n`)
  t.equal(refused.status, 502, 'no client certificate: the backend refuses the handshake')
  t.equal(refused.json().code, 'GH_UPSTREAM_TLS')
  t.equal(nocert.hits.length, 0)
  t.match(gw.logs.find(l => l.msg === 'TLS with the server failed' && l.server === 'nocert'), { reason: /^handshake refused/ })
  t.equal((await call(`${gw.url}/n13`)).status, 502, 'TLS 1.3: 502 too')
  t.equal(nocert13.hits.length, 0)
})
