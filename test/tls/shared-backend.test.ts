import t from 'tap'
import { readFileSync } from 'node:fs'
import { createSecureContext, type TLSSocket } from 'node:tls'
import { startLoggedGateway, call } from '../helper'
import { waitFor } from '../wait'
import { makeCerts } from './certs'
import { startTlsBackend } from './gateway'

t.test('one TLS backend in two groups with their own servername and client certificate: two pools, both work, health checks too', async t => {
  const certs = makeCerts(t)
  const alpha = certs.leaf('alpha', 'alpha.internal', ['alpha.internal'])
  const beta = certs.leaf('beta', 'beta.internal', ['beta.internal'])
  const clientA = certs.leaf('client-a', 'client-a', ['client-a'], { clientAuth: true })
  const clientB = certs.leaf('client-b', 'client-b', ['client-b'], { clientAuth: true })
  const contexts = new Map([alpha, beta].map((leaf, i) => [
    i === 0 ? 'alpha.internal' : 'beta.internal',
    // The CA here too: a context chosen by SNI replaces the server's, and with it the CA that checks client certificates.
    createSecureContext({ cert: leaf.pem(), key: readFileSync(leaf.key, 'utf8'), ca: certs.caPem })
  ]))

  // Two virtual hosts behind one address, each with its own certificate (by SNI); every
  // connection must show a client certificate of the CA. What each request came over is kept.
  const seen: Array<{ url: string, servername: string, clientCN: string }> = []
  const backend = await startTlsBackend(t, 'vhosts', {
    cert: alpha.pem(),
    key: readFileSync(alpha.key, 'utf8'),
    SNICallback: (name, cb) => cb(null, contexts.get(name)),
    ca: certs.caPem,
    requestCert: true,
    rejectUnauthorized: true
  }, (req, res) => {
    const socket = req.socket as TLSSocket
    const servername = String((socket as TLSSocket & { servername?: string }).servername)
    seen.push({ url: req.url ?? '', servername, clientCN: String(socket.getPeerCertificate().subject?.CN) })
    req.resume()
    res.setHeader('x-vhost', servername)
    res.end(servername)
  })

  const check = { path: '/health', interval: 50 }
  const gw = await startLoggedGateway(t, {
    upstreams: {
      a: { servers: [{ url: backend.url }], tls: { ca: certs.ca, servername: 'alpha.internal', cert: clientA.cert, key: clientA.key }, healthCheck: check },
      b: { servers: [{ url: backend.url }], tls: { ca: certs.ca, servername: 'beta.internal', cert: clientB.cert, key: clientB.key }, healthCheck: check },
      // The same origin with the same settings as a: it shares a's pool.
      a2: { servers: [{ url: backend.url }], tls: { ca: certs.ca, servername: 'alpha.internal', cert: clientA.cert, key: clientA.key } }
    },
    routes: [
      { match: { path: '/a/*' }, upstream: 'a' },
      { match: { path: '/b/*' }, upstream: 'b' },
      { match: { path: '/a2/*' }, upstream: 'a2' }
    ]
  })

  t.teardown(() => { if (process.env.DEBUG_LOGS) console.error(gw.logs.filter(l => l.level >= 40)) })
  // Alternating, on kept-alive connections: a pool shared by both groups would send one
  // group's requests over the other's connection.
  for (let i = 0; i < 3; i++) {
    for (const [path, vhost] of [['/a/x', 'alpha.internal'], ['/b/x', 'beta.internal'], ['/a2/x', 'alpha.internal']]) {
      const res = await call(`${gw.url}${path}`)
      t.equal(res.status, 200, path)
      t.equal(res.body, vhost, `${path} reached ${vhost}`)
    }
  }
  const byUrl = (url: string) => seen.filter(s => s.url === url)
  t.ok(byUrl('/a/x').every(s => s.servername === 'alpha.internal' && s.clientCN === 'client-a'), 'group a: its servername and its client certificate')
  t.ok(byUrl('/b/x').every(s => s.servername === 'beta.internal' && s.clientCN === 'client-b'), 'group b: its own')
  t.equal(byUrl('/b/x').length, 3)

  await waitFor(() => {
    const checks = byUrl('/health')
    return checks.some(s => s.servername === 'alpha.internal') && checks.some(s => s.servername === 'beta.internal')
  }, { what: 'health checks of both groups' })
  const checks = byUrl('/health')
  t.ok(checks.every(s => (s.servername === 'alpha.internal' ? 'client-a' : 'client-b') === s.clientCN), 'each group\'s health checks use its own TLS settings')
  t.notOk(gw.logs.some(l => l.msg === 'health state changed'), 'no check failed')
})
