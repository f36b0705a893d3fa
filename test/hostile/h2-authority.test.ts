import t from 'tap'
import { startRecordingBackend } from './raw'
import { h2Request, startH2Gateway } from './h2'
import { h1, h2, transports } from './transports'
import type { GatehouseConfig } from '../../lib/config'

// RFC 9113 §8.3.1 over HTTP/2: `:authority` is the host for routing and for the backend, and
// a `host` field that disagrees with it is malformed (nginx: 400). `OPTIONS *` and Host
// validity hold as over HTTP/1.1, from the same screening code.

function configFor (url: string): GatehouseConfig {
  return {
    upstreams: { app: { servers: [{ url }] } },
    routes: [
      { match: { host: 'only.example.com', path: '/only/*' }, upstream: 'app' },
      { match: { path: '/*' }, upstream: 'app' }
    ]
  } as GatehouseConfig
}

t.test('h2: a host field that differs from :authority is refused, never routed by either', async t => {
  const backend = await startRecordingBackend(t)
  const { port } = await startH2Gateway(t, configFor(backend.url))
  for (const [authority, host] of [['gw.test', 'only.example.com'], ['only.example.com', 'gw.test'], ['a.test', 'A.test:80']]) {
    const answer = await h2Request(port, { ':path': '/only/x', ':authority': authority, host })
    t.equal(answer.status, 400, `:authority ${authority}, host ${host} → ${answer.body}`)
    t.match(JSON.parse(answer.body), { code: 'GH_BAD_REQUEST', message: /host differs from :authority/ })
  }
  t.same(backend.lines, [], 'nothing reached the backend')
})

t.test('h2: :authority is the Host for routing and for the backend; an equal host field passes', async t => {
  const backend = await startRecordingBackend(t)
  const { port } = await startH2Gateway(t, configFor(backend.url))
  const both = await h2Request(port, { ':path': '/only/x', ':authority': 'only.example.com', host: 'only.example.com' })
  t.equal(both.status, 200, both.body)
  t.match(backend.heads[0], /\r\nhost: only\.example\.com\r\n/)
  t.notMatch(backend.heads[0], /\r\nhost: .*\r\nhost: /s, 'one Host line')
  // Without :authority (allowed by RFC 9113 §8.3.1 when host is sent), host is the host.
  const hostOnly = await h2Request(port, { ':path': '/only/y', ':authority': undefined, host: 'only.example.com' } as never)
  t.equal(hostOnly.status, 200, hostOnly.body)
  t.equal(backend.lines.length, 2)
})

for (const tr of transports) {
  t.test(`${tr.name}: a Host (or :authority) that is not host[:port] is refused`, async t => {
    const backend = await startRecordingBackend(t)
    const { port } = await tr.start(t, configFor(backend.url))
    // Values node:http2's client lets through (it refuses spaces and controls itself).
    for (const host of ['a.test/x', 'user@a.test', 'a.test:80x', 'a.test:123456', 'a..test', '.a.test', 'a.test:', '[::1', '[zz]', 'a\\b', 'a%41.test', '[::1]evil.example']) {
      const answer = await tr.send(port, 'GET', '/x', { Host: host })
      t.ok(answer.status === 400 || answer.reset, `Host ${host} → ${answer.text}`)
    }
    t.same(backend.lines, [], 'nothing reached the backend')
  })

  t.test(`${tr.name}: OPTIONS * is answered by the gateway, with Allow, never forwarded`, async t => {
    const backend = await startRecordingBackend(t)
    const { port } = await tr.start(t, configFor(backend.url))
    for (let i = 0; i < 4; i++) {
      const answer = await tr.send(port, 'OPTIONS', '*')
      t.equal(answer.status, 200, answer.text)
      t.match(answer.text, tr === h1 ? /\r\nallow: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT\r\n/i : /^200 $/)
    }
    if (tr === h2) {
      const answer = await h2Request(port, { ':method': 'OPTIONS', ':path': '*' })
      t.equal(answer.headers.allow, 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT')
      t.equal(answer.headers['content-length'], '0')
    }
    t.same(backend.lines, [], 'not forwarded')
    // Answered by the gateway, so no server was charged: the group still serves.
    t.equal((await tr.send(port, 'GET', '/x')).status, 200)
  })
}
