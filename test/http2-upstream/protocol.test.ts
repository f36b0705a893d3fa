import t from 'tap'
import { readFileSync } from 'node:fs'
import { startGateway, call } from '../helper'
import { makeCerts } from '../tls/certs'
import { startH2Backend, deadPort } from './support'
import type { Http2ServerResponse } from 'node:http2'
import { admin, TOKEN } from '../ops/admin-client'

/** A backend that holds every answer until `n` requests are in, then answers them all: they ran at once. */
function holdUntil (n: number) {
  const waiting: Http2ServerResponse[] = []
  return (req: { url: string }, res: Http2ServerResponse) => {
    // The first request opens the connection; a burst while it is being opened may open more
    // (undici counts a connection with requests not yet written as busy).
    if (req.url === '/warm') return res.end('warm')
    waiting.push(res)
    if (waiting.length < n) return
    for (const r of waiting.splice(0)) r.end('held')
  }
}

t.test('h2c: requests reach the backend as HTTP/2, several at once on one connection', async t => {
  const backend = await startH2Backend(t, 'h2c', undefined, holdUntil(5))
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })
  t.equal((await call(`${gw.url}/warm`)).status, 200)
  const replies = await Promise.all([1, 2, 3, 4, 5].map(async i => await call(`${gw.url}/r${i}`)))
  t.same(replies.map(r => r.status), [200, 200, 200, 200, 200])
  t.same(replies.map(r => r.body), ['held', 'held', 'held', 'held', 'held'])
  t.same(backend.hits.map(h => h.httpVersion), ['2.0', '2.0', '2.0', '2.0', '2.0', '2.0'], 'every request arrived over HTTP/2')
  t.equal(backend.connections(), 1, 'the warm-up and five requests in flight at once shared one connection')
  t.same(new Set(backend.hits.map(h => h.connection)), new Set([1]))
})

t.test('h2: HTTP/2 over TLS, agreed by ALPN, multiplexed on one connection', async t => {
  const certs = makeCerts(t)
  const leaf = certs.leaf('backend', 'backend.internal', ['127.0.0.1'])
  const backend = await startH2Backend(t, 'h2', { cert: leaf.pem(), key: readFileSync(leaf.key, 'utf8') }, holdUntil(4))
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: backend.url }], protocol: 'h2', tls: { ca: certs.ca } } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })
  t.equal((await call(`${gw.url}/warm`)).status, 200)
  const replies = await Promise.all([1, 2, 3, 4].map(async i => await call(`${gw.url}/s${i}`)))
  t.same(replies.map(r => r.status), [200, 200, 200, 200])
  t.same(backend.hits.map(h => h.httpVersion), ['2.0', '2.0', '2.0', '2.0', '2.0'])
  t.equal(backend.connections(), 1, 'one TLS connection carried all five')
  t.same(backend.hits.map(h => h.url).sort(), ['/s1', '/s2', '/s3', '/s4', '/warm'])
})

t.test('h2c: a server that is down is failed over to another', async t => {
  const live = await startH2Backend(t, 'live')
  const down = await deadPort()
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: `http://127.0.0.1:${down}`, id: 'down' }, { url: live.url, id: 'live' }], protocol: 'h2c', retries: 1, retryBudget: 1 } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })
  for (let i = 0; i < 4; i++) {
    const r = await call(`${gw.url}/f${i}`)
    t.equal(r.status, 200, `request ${i} answered`)
    t.equal(r.headers['x-backend'], 'live')
  }
  t.equal(live.hits.length, 4)
  t.ok(live.hits.every(h => h.httpVersion === '2.0'))
})

t.test('a server added at run time to an h2c group goes over HTTP/2 too; one of the wrong scheme is refused naming the field', async t => {
  const first = await startH2Backend(t, 'first')
  const added = await startH2Backend(t, 'added')
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: { api: { servers: [{ url: first.url, id: 'first' }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })
  const url = gw.app.gatehouse.adminUrl as string
  const bad = await admin(url, 'POST', '/upstreams/api/servers', { token: TOKEN, body: { url: 'https://127.0.0.1:9443' } })
  t.equal(bad.status, 400)
  t.match(bad.json().message, /url: the group's protocol "h2c" needs http:\/\/ servers/)
  t.equal((await admin(url, 'POST', '/upstreams/api/servers', { token: TOKEN, body: { url: added.url, id: 'added' } })).status, 201)
  t.equal((await admin(url, 'PATCH', '/upstreams/api/servers/first', { token: TOKEN, body: { state: 'maint' } })).status, 200)
  const r = await call(`${gw.url}/after`)
  t.equal(r.headers['x-backend'], 'added')
  t.same(added.hits.map(h => h.httpVersion), ['2.0'])
})
