import t from 'tap'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as h2connect } from 'node:http2'
import { startBackend, startGateway, startLoggedGateway, type TestBackend } from '../helper'
import { makeCerts } from '../tls/certs'
import { startTlsGateway } from '../tls/gateway'
import { waitFor } from '../wait'
import { rawConnect, readUntilClosed, startHaproxyFront } from './support'
import type { GatehouseConfig } from '../../lib/config'
import { V2_SIGNATURE } from '../../lib/http/proxy-protocol-header'

// HAProxy connects to the gateway from 127.0.0.1, the one trusted peer; the test's clients
// connect from other loopback addresses (all of 127/8 is local on Linux), so the address a
// backend or a filter sees tells which one it was given.
const CLIENT = '127.0.0.5'
const STRANGER = '127.0.0.6'

function configFor (b: TestBackend, extra: Partial<GatehouseConfig> = {}): GatehouseConfig {
  return {
    upstreams: { app: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/guarded' }, upstream: 'app', filters: { allow: [`${CLIENT}/32`] } },
      { match: { path: '/limited' }, upstream: 'app', rateLimit: { key: 'ip', max: 1, timeWindow: '1m' } },
      { match: { path: '/*' }, upstream: 'app', requestHeaders: { set: { 'x-client-ip': '{clientIp}' } } }
    ],
    listen: { proxyProtocol: { from: ['127.0.0.1/32'] } },
    ...extra
  }
}

interface Got { status: number, body: string, headers: IncomingMessage['headers'] }

function get (port: number, path: string, localAddress: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress, agent: false }, res => {
      let body = ''
      res.setEncoding('utf8').on('data', c => { body += c }).on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on('error', reject)
    req.end()
  })
}

for (const version of ['v1', 'v2'] as const) {
  t.test(`behind HAProxy send-proxy${version === 'v2' ? '-v2' : ''}: filters, X-Forwarded-For and {clientIp} see the client, not the balancer`, async t => {
    const b = await startBackend(t, 'app')
    const gw = await startLoggedGateway(t, configFor(b))
    const front = await startHaproxyFront(t, gw.port, version)

    const ok = await get(front.port, '/guarded', CLIENT)
    t.equal(ok.status, 200, 'filters.allow lets the client through, though the connection came from HAProxy')
    t.equal(b.hits[0].headers['x-forwarded-for'], CLIENT, 'the backend sees the client in X-Forwarded-For')

    const refused = await get(front.port, '/guarded', STRANGER)
    t.equal(refused.status, 403, 'another client is refused by the same rule')
    t.equal(b.hits.length, 1)

    await get(front.port, '/other', STRANGER)
    t.equal(b.hits[1].headers['x-forwarded-for'], STRANGER)
    t.equal(b.hits[1].headers['x-client-ip'], STRANGER, '{clientIp} is the client')

    t.equal((await get(front.port, '/limited', CLIENT)).status, 200)
    t.equal((await get(front.port, '/limited', CLIENT)).status, 429, 'a per-address rate limit counts the client')
    t.equal((await get(front.port, '/limited', STRANGER)).status, 200, 'and not the balancer: another client has its own count')
    const access = gw.logs.filter(l => l.msg === 'proxied' || l.msg === 'refused').map(l => l.remoteAddress)
    t.same(access, [CLIENT, STRANGER, STRANGER, CLIENT, CLIENT, STRANGER], 'the access log names the client of each request')
  })
}

t.test('a client not in proxyProtocol.from is served as itself, and refused unanswered when it sends a header', async t => {
  const b = await startBackend(t, 'app')
  const gw = await startGateway(t, configFor(b, { listen: { proxyProtocol: { from: ['127.0.0.1'] } }, admin: { port: 0 } }))
  const direct = await get(gw.port, '/other', STRANGER)
  t.equal(direct.status, 200, 'a direct client that sends no header is served')
  t.equal(b.hits[0].headers['x-forwarded-for'], STRANGER)

  // A client that forges its address as the allowed one.
  const spoof = await rawConnect(gw.port, STRANGER)
  spoof.write(`PROXY TCP4 ${CLIENT} 127.0.0.1 40000 80\r\nGET /guarded HTTP/1.1\r\nHost: x\r\n\r\n`)
  t.equal(await readUntilClosed(spoof), '', 'closed without an answer')

  const spoof2 = await rawConnect(gw.port, STRANGER)
  spoof2.write(Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0, 12, 127, 0, 0, 5, 127, 0, 0, 1, 0x9c, 0x40, 0, 80]), Buffer.from('GET /guarded HTTP/1.1\r\nHost: x\r\n\r\n')]))
  t.equal(await readUntilClosed(spoof2), '', 'a v2 header too')
  t.equal(b.hits.length, 1, 'neither reached the backend')

  const metrics = await (await fetch(`${String(gw.app.gatehouse.adminUrl)}/metrics`)).text()
  t.match(metrics, /gatehouse_refused_before_routing_total\{code="GH_PROXY_PROTOCOL_UNTRUSTED"\} 2/, 'counted')
})

t.test('from a trusted peer: no header, a malformed, truncated or oversized one close the connection unanswered, and are counted', async t => {
  const b = await startBackend(t, 'app')
  const gw = await startGateway(t, configFor(b, { admin: { port: 0 } }))
  const cases: Array<[string, Buffer | string, boolean]> = [
    ['no header', 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n', false],
    ['v1 with a missing field', 'PROXY TCP4 10.1.2.3 127.0.0.1 40000\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n', false],
    ['v1 with a bad address', 'PROXY TCP4 10.1.2.300 127.0.0.1 40000 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n', false],
    ['v1 past 107 bytes without CRLF', `PROXY TCP6 ${'1'.repeat(120)}`, false],
    ['v1 cut short, then the peer ends', 'PROXY TCP4 10.1.2.3', true],
    ['v2 with version 1', Buffer.concat([V2_SIGNATURE, Buffer.from([0x11, 0x11, 0, 12]), Buffer.alloc(12)]), false],
    ['v2 IPv4 with a short address block', Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0, 4]), Buffer.alloc(4)]), false],
    ['v2 oversized', Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0x10, 0x00]), Buffer.alloc(64)]), false],
    ['v2 truncated, then the peer ends', Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0, 12, 10, 1])]), true]
  ]
  for (const [name, bytes, end] of cases) {
    const s = await rawConnect(gw.port)
    if (end) s.end(bytes)
    else s.write(bytes)
    t.equal(await readUntilClosed(s), '', `${name}: closed without an answer`)
  }
  t.equal(b.hits.length, 0, 'nothing reached the backend')
  const metrics = await (await fetch(`${String(gw.app.gatehouse.adminUrl)}/metrics`)).text()
  t.match(metrics, /code="GH_PROXY_PROTOCOL_MISSING"\} 1\n/)
  t.match(metrics, /code="GH_PROXY_PROTOCOL_INVALID"\} 8\n/, 'malformed, oversized and truncated ones')

  // A valid header split over several packets, with the request in the last one, still works.
  const s = await rawConnect(gw.port)
  const parts = ['PROXY TCP4 10.9.8.7 ', '127.0.0.1 4000', '0 80\r', '\nGET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']
  for (const p of parts) {
    s.write(p)
    await new Promise(resolve => setImmediate(resolve))
  }
  t.match(await readUntilClosed(s), /^HTTP\/1.1 200/)
  t.equal(b.hits[0].headers['x-forwarded-for'], '10.9.8.7')
})

t.test('a v2 LOCAL header (the balancer\'s own check) and v1 UNKNOWN are served as the peer itself; IPv6 clients are read', async t => {
  const b = await startBackend(t, 'app')
  const gw = await startGateway(t, configFor(b))
  const local = await rawConnect(gw.port)
  local.write(Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0, 0]), Buffer.from('GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]))
  t.match(await readUntilClosed(local), /^HTTP\/1.1 200/)
  t.equal(b.hits[0].headers['x-forwarded-for'], '127.0.0.1')
  const unknown = await rawConnect(gw.port)
  unknown.write('PROXY UNKNOWN\r\nGET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(await readUntilClosed(unknown), /^HTTP\/1.1 200/)
  t.equal(b.hits[1].headers['x-forwarded-for'], '127.0.0.1', 'v1 UNKNOWN: the peer')
  const six = await rawConnect(gw.port)
  six.write('PROXY TCP6 2001:db8::7 ::1 40000 80\r\nGET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(await readUntilClosed(six), /^HTTP\/1.1 200/)
  t.equal(b.hits[2].headers['x-forwarded-for'], '2001:db8::7')
})

t.test('a header that never arrives is cut at limits.headersTimeout', async t => {
  const b = await startBackend(t, 'app')
  const gw = await startGateway(t, configFor(b, { limits: { headersTimeout: 300 } }))
  const silent = await rawConnect(gw.port)
  t.equal(await readUntilClosed(silent, 4000), '', 'a silent trusted peer is closed')
  const partial = await rawConnect(gw.port)
  partial.write('PROXY TCP4 ')
  t.equal(await readUntilClosed(partial, 4000), '', 'so is one that stops in the middle of its header')
  const idle = await rawConnect(gw.port, STRANGER)
  t.equal(await readUntilClosed(idle, 4000), '', 'and a client of its own that sends nothing')
})

t.test('HTTPS and HTTP/2 listeners: the header comes before the TLS handshake', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const b = await startBackend(t, 'app')
  const gw = await startTlsGateway(t, configFor(b, {
    listen: { tls: { cert: site.cert, key: site.key }, http2: true, proxyProtocol: { from: ['127.0.0.1'] } }
  }), { baseDir: certs.dir })
  const front = await startHaproxyFront(t, gw.port, 'v2')

  const h1 = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: front.port, path: '/guarded', localAddress: CLIENT, ca: certs.caPem, agent: false, ALPNProtocols: ['http/1.1'] } as never, res => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
  t.equal(h1, 200, 'HTTPS/1.1 through HAProxy: the filter sees the client')
  t.equal(b.hits[0].headers['x-forwarded-for'], CLIENT)

  const session = h2connect(`https://127.0.0.1:${front.port}`, { ca: certs.caPem, localAddress: STRANGER } as never)
  session.on('error', () => {})
  t.teardown(() => session.close())
  const h2 = await new Promise<number>((resolve, reject) => {
    const req = session.request({ ':path': '/guarded' })
    req.on('response', h => resolve(Number(h[':status'])))
    req.on('error', reject)
    req.resume()
    req.end()
  })
  t.equal(h2, 403, 'HTTP/2 through HAProxy: the same filter refuses another client')
  const ok = await new Promise<number>((resolve, reject) => {
    const req = session.request({ ':path': '/other' })
    req.on('response', h => resolve(Number(h[':status'])))
    req.on('error', reject)
    req.resume()
    req.end()
  })
  t.equal(ok, 200)
  await waitFor(() => b.hits.length === 2, { what: 'the h2 request at the backend' })
  t.equal(b.hits[1].headers['x-forwarded-for'], STRANGER, 'HTTP/2: the backend sees the client')
})

t.test('closing the gateway ends the connections still waiting for their header, rather than waiting for them', async t => {
  const b = await startBackend(t, 'app')
  const gw = await startGateway(t, configFor(b))
  const silent = await rawConnect(gw.port)
  const closedSocket = readUntilClosed(silent, 4000)
  let closed = false
  const closing = gw.app.close().then(() => { closed = true })
  await waitFor(() => closed, { what: 'app.close() (limits.headersTimeout is 10 s)', timeout: 3000 })
  await closing
  t.equal(await closedSocket, '', 'the held connection was closed, unanswered')
})
