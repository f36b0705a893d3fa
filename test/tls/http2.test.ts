import t from 'tap'
import { connect as tlsConnect } from 'node:tls'
import { once } from 'node:events'
import type { Socket } from 'node:net'
import type { IncomingMessage } from 'node:http'
import { startBackend } from '../helper'
import { makeCerts } from './certs'
import { h2Call, httpsCall, startTlsGateway } from './gateway'

t.test('listen.http2: h2 and HTTP/1.1 on one port; over h2 :authority is the Host for routing, preserveHost and x-forwarded-host', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1', 'api.example.com', 'www.example.com'])
  const api = await startBackend(t, 'api')
  const www = await startBackend(t, 'www')
  const gw = await startTlsGateway(t, {
    upstreams: {
      api: { servers: [{ url: api.url }] },
      www: { servers: [{ url: www.url }], preserveHost: false }
    },
    routes: [
      { match: { path: '/*', host: 'api.example.com' }, upstream: 'api' },
      { match: { path: '/*' }, upstream: 'www' }
    ],
    listen: { tls: { cert: site.cert, key: site.key }, http2: true }
  }, { baseDir: certs.dir })

  const h2 = await h2Call(gw.url, { ca: certs.caPem, path: '/v1/items?q=1', authority: 'api.example.com' })
  t.equal(h2.alpn, 'h2', 'ALPN picked h2')
  t.equal(h2.status, 200)
  t.equal(h2.headers['x-backend'], 'api', 'routed by :authority')
  const hit = api.hits[0]
  t.equal(hit.url, '/v1/items?q=1')
  t.equal(hit.headers.host, 'api.example.com', 'preserveHost: the backend gets the client host')
  t.equal(hit.headers['x-forwarded-host'], 'api.example.com')
  t.equal(hit.headers['x-forwarded-proto'], 'https')
  t.notOk(Object.keys(hit.headers).some(k => k.startsWith(':')), 'no pseudo-header reaches an HTTP/1.1 backend')

  const other = await h2Call(gw.url, { ca: certs.caPem, path: '/p', authority: 'www.example.com', method: 'POST', body: 'hello' })
  t.equal(other.headers['x-backend'], 'www')
  t.equal(www.hits[0].headers.host, `127.0.0.1:${www.port}`, 'preserveHost false: the backend\'s own address')
  t.equal(www.hits[0].headers['x-forwarded-host'], 'www.example.com', 'and the client host in x-forwarded-host')

  const h1 = await httpsCall(`${gw.url}/v1/x`, { ca: certs.caPem, headers: { host: 'api.example.com' } })
  t.equal(h1.alpn, 'http/1.1', 'an HTTP/1.1 client on the same port')
  t.equal(h1.headers['x-backend'], 'api', 'routed by Host the same way')
  t.equal(api.hits[1].headers['x-forwarded-host'], 'api.example.com')
})

t.test('listen.http2: a WebSocket upgrade over HTTP/1.1 on the h2 port still goes through', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const b = await startBackend(t, 'ws')
  const sockets: Socket[] = []
  t.teardown(() => { for (const s of sockets) s.destroy() })
  b.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.push(socket)
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nx-proto: ${String(req.headers['x-forwarded-proto'])}\r\n\r\n`)
    socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString()}`))
  })
  const gw = await startTlsGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: site.cert, key: site.key }, http2: true }
  }, { baseDir: certs.dir })
  const socket = tlsConnect({ port: gw.port, host: '127.0.0.1', ca: certs.caPem, ALPNProtocols: ['http/1.1'] })
  sockets.push(socket)
  await once(socket, 'secureConnect')
  t.equal(socket.alpnProtocol, 'http/1.1')
  socket.write('GET /chat HTTP/1.1\r\nHost: chat.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  let got = ''
  socket.setEncoding('utf8')
  const until = (text: string) => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" within 5 s; got ${JSON.stringify(got)}`)), 5000)
    const check = () => { if (got.includes(text)) { clearTimeout(timer); socket.off('data', on); resolve() } }
    const on = (c: string) => { got += c; check() }
    socket.on('data', on)
    check()
  })
  await until('\r\n\r\n')
  t.match(got, /^HTTP\/1\.1 101 /, 'switched')
  t.match(got, /x-proto: https/i, 'the backend was told https')
  socket.write('ping')
  await until('echo:ping')
  t.pass('bytes flow both ways')
})
