import t from 'tap'
import { Agent, request } from 'undici'
import { createServer, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo, Socket } from 'node:net'
import { startGateway, startLoggedGateway } from '../helper'
import { makeCerts } from '../tls/certs'
import { startTlsGateway } from '../tls/gateway'
import { connect as h2connect, type ClientHttp2Session } from 'node:http2'
import { rawConnect } from './support'
import { acceptProxyProtocol } from '../../lib/http/proxy-protocol-listener'
import { IpList } from '../../lib/filters/ip-list'
import { waitFor } from '../wait'
import { startHaproxyFront, startNginxBackend } from './support'

// nginx as the backend, with `listen ... proxy_protocol`, logs for every request the address
// its PROXY header named and nginx's serial number of the connection it came on.

function client (t: { teardown (fn: () => unknown): void }, localAddress: string): Agent {
  const agent = new Agent({ localAddress, connections: 1, keepAliveTimeout: 10_000 })
  t.teardown(() => agent.close())
  return agent
}

async function get (url: string, dispatcher: Agent): Promise<{ status: number, body: string }> {
  const res = await request(url, { dispatcher })
  return { status: res.statusCode, body: await res.body.text() }
}

for (const version of ['v1', 'v2'] as const) {
  t.test(`proxyProtocol "${version}": every backend connection names its own client, and is never another client's`, async t => {
    const nginx = await startNginxBackend(t)
    const gw = await startGateway(t, {
      upstreams: { app: { servers: [{ url: nginx.url }], proxyProtocol: version } },
      routes: [{ match: { path: '/*' }, upstream: 'app' }]
    })
    const a = client(t, '127.0.0.5')
    const b = client(t, '127.0.0.6')
    // Interleaved, each client on one keep-alive connection to the gateway.
    for (const [who, agent] of [['a1', a], ['b1', b], ['a2', a], ['b2', b], ['a3', a]] as const) {
      const res = await get(`${gw.url}/${who}`, agent)
      t.equal(res.status, 200, `${who} answered`)
    }
    const lines = nginx.lines()
    const of = (uri: string) => lines.find(l => l.uri === uri)
    for (const uri of ['/a1', '/a2', '/a3']) t.equal(of(uri)?.address, '127.0.0.5', `${uri}: nginx got client a's address`)
    for (const uri of ['/b1', '/b2']) t.equal(of(uri)?.address, '127.0.0.6', `${uri}: client b's`)
    const aConns = new Set(['/a1', '/a2', '/a3'].map(u => of(u)?.connection))
    const bConns = new Set(['/b1', '/b2'].map(u => of(u)?.connection))
    t.equal(aConns.size, 1, 'a\'s requests shared one backend connection (keep-alive within a client connection)')
    t.equal(bConns.size, 1)
    t.notOk([...aConns].some(c => bConns.has(c)), 'never one of the other client\'s')
  })
}

t.test('health checks send a header for the gateway itself: LOCAL in v2, its own address in v1', async t => {
  for (const version of ['v1', 'v2'] as const) {
    const nginx = await startNginxBackend(t)
    const gw = await startGateway(t, {
      upstreams: { app: { servers: [{ url: nginx.url }], proxyProtocol: version, healthCheck: { path: '/health', interval: 50, timeout: 1000, healthyThreshold: 1 } } },
      routes: [{ match: { path: '/*' }, upstream: 'app' }]
    })
    await waitFor(() => nginx.lines().filter(l => l.uri === '/health').length >= 2, { what: `${version} health checks at nginx` })
    const checks = nginx.lines().filter(l => l.uri === '/health')
    // nginx logs "-" for a LOCAL header's (empty) $proxy_protocol_addr.
    t.ok(checks.every(l => l.address === (version === 'v1' ? '127.0.0.1' : '-')), `${version}: ${JSON.stringify(checks[0])}`)
    t.equal((await get(`${gw.url}/x`, client(t, '127.0.0.7'))).status, 200, 'the server passed its checks and serves')
  }
})

t.test('behind HAProxy send-proxy, to nginx with proxy_protocol: the backend sees the client through both hops', async t => {
  const nginx = await startNginxBackend(t)
  const gw = await startGateway(t, {
    upstreams: { app: { servers: [{ url: nginx.url }], proxyProtocol: 'v2' } },
    routes: [{ match: { path: '/*' }, upstream: 'app' }],
    listen: { proxyProtocol: { from: ['127.0.0.1'] } }
  })
  const front = await startHaproxyFront(t, gw.port, 'v1')
  const res = await get(`http://127.0.0.1:${front.port}/through`, client(t, '127.0.0.9'))
  t.equal(res.status, 200)
  t.equal(nginx.lines().find(l => l.uri === '/through')?.address, '127.0.0.9')
})

t.test('a WebSocket tunnel to a proxyProtocol group starts with the client\'s header too', async t => {
  // A backend that requires the header from the gateway (Gatehouse's own listener, as above with HAProxy in front).
  const sockets: Socket[] = []
  const server = createServer((_req, res) => res.end('plain'))
  acceptProxyProtocol(server, { from: new IpList(['127.0.0.1']), headersTimeout: 2000, rejected: () => {} })
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.push(socket)
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nx-client: ${String(req.socket.remoteAddress)}\r\n\r\n`)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  const gw = await startGateway(t, {
    upstreams: { ws: { servers: [{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }], proxyProtocol: 'v1' } },
    routes: [{ match: { path: '/*' }, upstream: 'ws' }]
  })
  const s = await rawConnect(gw.port, '127.0.0.8')
  t.teardown(() => s.destroy())
  s.write('GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  let head = ''
  s.on('data', (c: Buffer) => { head += c.toString('latin1') })
  await waitFor(() => head.includes('\r\n\r\n'), { what: 'the 101' })
  t.match(head, /^HTTP\/1.1 101/)
  t.match(head, /x-client: 127\.0\.0\.8\r\n/i, 'the backend saw the client in the tunnel\'s header')
})

t.test('to an https:// server the header comes before the TLS handshake, which is verified as usual', async t => {
  const certs = makeCerts(t)
  const leaf = certs.leaf('nginx', 'backend.test', ['backend.test', '127.0.0.1'])
  const nginx = await startNginxBackend(t, leaf)
  const gw = await startLoggedGateway(t, {
    upstreams: { app: { servers: [{ url: nginx.url }], proxyProtocol: 'v2', tls: { ca: certs.ca } } },
    routes: [{ match: { path: '/*' }, upstream: 'app' }]
  })
  const res = await get(`${gw.url}/secure`, client(t, '127.0.0.10'))
  t.equal(res.status, 200, 'verified against the certificate, and answered')
  t.equal(gw.count(/TLS with the server failed/), 0)
  t.equal(nginx.lines().find(l => l.uri === '/secure')?.address, '127.0.0.10')
})

t.test('HTTP/2 clients: the streams of one session share the client\'s backend connection, another session gets its own', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const nginx = await startNginxBackend(t)
  const gw = await startTlsGateway(t, {
    upstreams: { app: { servers: [{ url: nginx.url }], proxyProtocol: 'v1' } },
    routes: [{ match: { path: '/*' }, upstream: 'app' }],
    listen: { tls: { cert: site.cert, key: site.key }, http2: true }
  }, { baseDir: certs.dir })
  const h2get = async (session: ClientHttp2Session, path: string): Promise<number> => await new Promise((resolve, reject) => {
    const req = session.request({ ':path': path })
    req.on('response', h => resolve(Number(h[':status'])))
    req.on('error', reject)
    req.resume()
    req.end()
  })
  const open = (localAddress: string): ClientHttp2Session => {
    const s = h2connect(gw.url, { ca: certs.caPem, localAddress } as never)
    s.on('error', () => {})
    t.teardown(() => s.close())
    return s
  }
  const a = open('127.0.0.11')
  const b = open('127.0.0.12')
  t.equal(await h2get(a, '/h2a1'), 200)
  t.equal(await h2get(b, '/h2b1'), 200)
  t.equal(await h2get(a, '/h2a2'), 200)
  const of = (uri: string) => nginx.lines().find(l => l.uri === uri)
  t.equal(of('/h2a1')?.address, '127.0.0.11')
  t.equal(of('/h2a2')?.address, '127.0.0.11')
  t.equal(of('/h2b1')?.address, '127.0.0.12')
  t.equal(of('/h2a1')?.connection, of('/h2a2')?.connection, 'one backend connection for the session')
  t.not(of('/h2a1')?.connection, of('/h2b1')?.connection, 'none shared with the other session')
})
