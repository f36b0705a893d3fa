import t from 'tap'
import { startBackend, startGateway, call } from '../helper'
import { waitFor } from '../wait'
import { startShadow, mirrorConfig as config, keepBodies, mirrorMetrics } from './support'

// What a copy is: the request as the route's backend gets it.

t.test('the mirror gets the same method, path, query, headers and body as the backend', async t => {
  const main = await startBackend(t, 'main')
  const bodies: Buffer[] = []
  main.handle(keepBodies(bodies))
  const shadow = await startShadow(t)
  const c = config(main.url, shadow.url)
  c.routes[0].requestHeaders = { set: { 'x-added': 'by-{clientIp}' }, remove: ['x-secret'] }
  const gw = await startGateway(t, c)

  const body = Buffer.from('{"order":42,"items":["a","b"]}')
  const res = await call(`${gw.url}/api/orders/7?x=1&y=%20z`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-custom': 'kept', 'x-secret': 'gone', host: 'shop.example.com', 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'rid-1' },
    body
  })
  t.equal(res.status, 200)
  t.equal(res.body, String(body.length), 'the backend\'s answer, not the mirror\'s')
  await waitFor(() => shadow.copies.length === 1, { what: 'the copy' })
  const copy = shadow.copies[0]
  const sent = main.hits[0]
  t.equal(copy.method, 'POST')
  t.equal(copy.url, '/orders/7?x=1&y=%20z', 'the path as the backend gets it (less stripPrefix), the query byte for byte')
  t.equal(copy.url, sent.url)
  t.same(copy.body, body, 'the body')
  t.same(bodies[0], body)
  t.equal(copy.headers['x-custom'], 'kept')
  t.equal(copy.headers.host, 'shop.example.com', 'the Host kept (the group\'s preserveHost), no -shadow suffix')
  t.equal(copy.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1')
  t.equal(copy.headers['x-request-id'], 'rid-1')
  t.equal(copy.headers['x-added'], 'by-127.0.0.1', 'the route\'s request header rules applied')
  t.equal(copy.headers['x-secret'], undefined)
  t.same(copy.headers, sent.headers, 'every header as the backend got it')
})

t.test('GET copies carry no body; the mirror group\'s preserveHost: false sends its server\'s own Host', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  const c = config(main.url, shadow.url)
  c.upstreams.shadow.preserveHost = false
  const gw = await startGateway(t, c)
  const res = await call(`${gw.url}/api/a?b=c`, { headers: { host: 'shop.example.com' } })
  t.equal(res.status, 200)
  await waitFor(() => shadow.copies.length === 1, { what: 'the copy' })
  const copy = shadow.copies[0]
  t.equal(copy.method, 'GET')
  t.equal(copy.url, '/a?b=c')
  t.equal(copy.headers.host, new URL(shadow.url).host)
  t.equal(copy.headers['x-forwarded-host'], 'shop.example.com')
  t.equal(main.hits[0].headers.host, 'shop.example.com', 'the route\'s own group keeps the client\'s')
  t.equal(copy.body.length, 0)
  t.equal(copy.headers['content-length'], undefined)
})
