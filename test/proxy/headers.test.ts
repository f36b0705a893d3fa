import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { startBackend, startGateway, call } from '../helper'

t.test('forwarding headers are set and the Host is preserved', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const res = await call(`${gw.url}/x`, { headers: { host: 'shop.example.com', 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'abc-123' } })
  t.equal(res.status, 200)
  const seen = b.hits[0].headers
  t.equal(seen.host, 'shop.example.com')
  t.equal(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1', 'client address appended')
  t.equal(seen['x-forwarded-proto'], 'http')
  t.equal(seen['x-forwarded-host'], 'shop.example.com')
  t.equal(seen['x-request-id'], 'abc-123', 'request id passed on')
  t.equal(res.headers['x-request-id'], 'abc-123', 'and returned')
})

t.test('a request id is generated when absent, sent on and returned', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const res = await call(`${gw.url}/x`)
  const id = res.headers['x-request-id']
  t.match(id, /^[0-9a-f-]{36}$/)
  t.equal(b.hits[0].headers['x-request-id'], id)
  t.equal(b.hits[0].headers['x-forwarded-for'], '127.0.0.1')
})

t.test('preserveHost: false sends the backend its own host', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    upstreams: { u: { preserveHost: false, servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  await call(`${gw.url}/x`, { headers: { host: 'shop.example.com' } })
  t.equal(b.hits[0].headers.host, `127.0.0.1:${b.port}`)
  t.equal(b.hits[0].headers['x-forwarded-host'], 'shop.example.com')
})

t.test('hop-by-hop headers are dropped both ways', async t => {
  const b = await startBackend(t, 'b')
  b.handle((req, res) => {
    req.resume()
    res.setHeader('x-bar', 'private to the hop')
    res.setHeader('connection', 'x-bar')
    res.setHeader('keep-alive', 'timeout=5')
    res.setHeader('proxy-authenticate', 'Basic')
    res.setHeader('x-kept', 'yes')
    res.end('ok')
  })
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  // A raw socket, so that the client can send headers a library would refuse.
  const socket = connect(gw.port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write('GET /x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, x-foo\r\nX-Foo: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9v\r\nX-Other: kept\r\n\r\n')
  let raw = ''
  socket.setEncoding('utf8')
  for await (const chunk of socket) {
    raw += chunk
    if (raw.includes('\r\n\r\nok')) break
  }
  socket.destroy()
  const seen = b.hits[0].headers
  t.equal(seen['x-foo'], undefined, 'a header named by Connection is dropped')
  t.equal(seen['keep-alive'], undefined)
  t.equal(seen.te, undefined)
  t.equal(seen['proxy-authorization'], undefined)
  t.equal(seen['x-other'], 'kept')
  const head = raw.split('\r\n\r\n')[0].toLowerCase()
  t.notMatch(head, /x-bar/, 'a response header named by Connection is dropped')
  t.notMatch(head, /proxy-authenticate/)
  t.match(head, /x-kept: yes/)
})
