import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { startBackend, startGateway, call, answerBodySize } from '../helper'
import { waitFor } from '../wait'
import { startShadow, refusingUrl, startResetter, mirrorMetrics, metric } from './support'
import type { GatehouseConfig } from '../../lib/config'

/** A config of one route to `api` at `main`, copying to `shadow` at `shadowUrl`. */
function config (main: string, shadowUrl: string, mirror: Record<string, unknown> = {}, more: Partial<GatehouseConfig> = {}): GatehouseConfig {
  return {
    admin: { port: 0 },
    upstreams: { api: { servers: [{ url: main }] }, shadow: { servers: [{ url: shadowUrl }] } },
    routes: [{ match: { path: '/api/*' }, upstream: 'api', stripPrefix: '/api', mirror: { upstream: 'shadow', ...mirror } }],
    ...more
  }
}

/** A main backend handler that keeps each request's body and answers with its size. */
function keepBodies (into: Buffer[]) {
  return (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      into.push(body)
      res.end(String(body.length))
    })
  }
}

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

t.test('percent 100 copies every request, percent 0 none (and the route carries no hook)', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  const c = config(main.url, shadow.url)
  c.routes.push({ match: { path: '/never/*' }, upstream: 'api', mirror: { upstream: 'shadow', percent: 0 } })
  const gw = await startGateway(t, c)
  for (let i = 0; i < 30; i++) t.equal((await call(`${gw.url}/never/${i}`)).status, 200)
  // Counted when dispatched, before the backend request even goes: settled by the time the client has its answer.
  t.same(await mirrorMetrics(gw, 'shadow'), { sent: 0, answered: 0, failed: 0, dropped: 0, skipped: 0 }, 'percent 0: nothing')
  for (let i = 0; i < 30; i++) t.equal((await call(`${gw.url}/api/${i}`)).status, 200)
  t.equal((await mirrorMetrics(gw, 'shadow')).sent, 30, 'percent 100: every one')
  await waitFor(() => shadow.copies.length === 30, { what: '30 copies' })
  t.same(shadow.copies.map(c => c.url).sort(), Array.from({ length: 30 }, (_, i) => `/${i}`).sort())
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).answered === 30, { what: 'answered 30' })
})

t.test('percent 50 copies half of the requests, within bounds', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  const gw = await startGateway(t, config(main.url, shadow.url, { percent: 50 }))
  const N = 600
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < N) {
      next++
      const res = await call(`${gw.url}/api/x`)
      if (res.status !== 200) throw new Error(`status ${res.status}`)
    }
  }))
  const { sent, dropped, skipped } = await mirrorMetrics(gw, 'shadow')
  // Binomial(600, 0.5): mean 300, sd 12.2; outside 238..362 (5.06 sd either way) has probability 4.2e-7.
  t.ok(sent >= 238 && sent <= 362, `${sent} of ${N} copied`)
  t.equal(dropped + skipped, 0)
  await waitFor(() => shadow.copies.length === sent, { what: 'every copy sent arrives' })
})

t.test('a mirror that refuses connections: every answer arrives, the failures are the mirror group\'s alone', async t => {
  const main = await startBackend(t, 'main')
  const down = await refusingUrl()
  const c = config(main.url, down)
  c.upstreams.shadow.passive = { maxFails: 1, maxEjectionPercent: 100 }
  const gw = await startGateway(t, c)
  for (let i = 0; i < 20; i++) {
    const res = await call(`${gw.url}/api/${i}`, { method: 'POST', body: 'x' })
    t.equal(res.status, 200, `request ${i} answered by the backend`)
  }
  t.equal(main.hits.length, 20)
  const m = await mirrorMetrics(gw, 'shadow')
  t.ok(m.sent >= 1, 'copies were sent')
  t.equal(m.answered, 0)
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).failed === m.sent, { what: 'every copy sent failed' })
  t.equal(m.sent + m.dropped, 20, 'once its one server is ejected, copies find no server and are dropped')
  t.equal(await metric(gw, 'gatehouse_server_failures_total{upstream="api",server="' + new URL(main.url).host + '"}'), 0, 'nothing charged to the route\'s group')
  t.equal(await metric(gw, 'gatehouse_retries_total{upstream="api"}'), 0, 'nor to its retries')
  t.equal(await metric(gw, 'gatehouse_upstream_ready_servers{upstream="api"}'), 1)
  t.equal(await metric(gw, 'gatehouse_upstream_ready_servers{upstream="shadow"}'), 0, 'the mirror\'s server is ejected from its own group')
})

t.test('a mirror that never answers: the client has each answer while the mirror still holds its copy', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  shadow.hold()
  const gw = await startGateway(t, config(main.url, shadow.url))
  for (let i = 1; i <= 5; i++) {
    const res = await call(`${gw.url}/api/${i}`)
    t.equal(res.status, 200, `answer ${i}`)
    await waitFor(() => shadow.copies.length === i, { what: `copy ${i}` })
    t.equal(shadow.held.length, i, `the mirror holds ${i} copies unanswered`)
  }
  t.equal((await mirrorMetrics(gw, 'shadow')).answered, 0)
  shadow.release()
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).answered === 5, { what: 'the late answers read and discarded' })
})

t.test('maxInFlight bounds the copies in flight; the rest are dropped', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  shadow.hold()
  const gw = await startGateway(t, config(main.url, shadow.url, { maxInFlight: 3 }))
  for (let i = 0; i < 10; i++) t.equal((await call(`${gw.url}/api/${i}`)).status, 200)
  await waitFor(() => shadow.held.length === 3, { what: 'three held' })
  t.same(await mirrorMetrics(gw, 'shadow'), { sent: 3, answered: 0, failed: 0, dropped: 7, skipped: 0 })
  t.equal(shadow.peak, 3, 'never more than three at once')
  shadow.release()
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).answered === 3, { what: 'slots freed' })
  t.equal((await call(`${gw.url}/api/again`)).status, 200)
  t.equal((await mirrorMetrics(gw, 'shadow')).sent, 4, 'copies go again once slots are free')
  t.ok(shadow.peak <= 3)
})

t.test('bodies over maxBodySize, or streamed, are not copied; the backend gets them whole', async t => {
  const main = await startBackend(t, 'main')
  main.handle(answerBodySize)
  const shadow = await startShadow(t)
  // Held as a Buffer up to 1 KiB, as a stream of the whole body up to 64 KiB, streamed beyond.
  const gw = await startGateway(t, config(main.url, shadow.url, { maxBodySize: '16KB' }, { retryBodyLimit: 1024 }))
  const over = Buffer.alloc(20_000, 'o')
  let res = await call(`${gw.url}/api/over`, { method: 'POST', body: over })
  t.equal(res.body, '20000', 'over maxBodySize: the backend gets it all')
  t.equal((await mirrorMetrics(gw, 'shadow')).skipped, 1)

  const big = Buffer.alloc(300_000, 'b')
  res = await call(`${gw.url}/api/streamed`, { method: 'PUT', body: Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]) })
  t.equal(res.body, '300000', 'streamed: the backend gets it all')
  t.equal((await mirrorMetrics(gw, 'shadow')).skipped, 2)

  const small = Buffer.alloc(500, 's')
  res = await call(`${gw.url}/api/small`, { method: 'POST', body: small })
  t.equal(res.body, '500')
  const mid = Buffer.alloc(10_000, 'm')
  res = await call(`${gw.url}/api/mid`, { method: 'POST', body: mid })
  t.equal(res.body, '10000', 'held whole as a stream: the backend reads the stream')
  await waitFor(() => shadow.copies.length === 2, { what: 'two copies' })
  const byUrl = Object.fromEntries(shadow.copies.map(c => [c.url, c]))
  t.same(Object.keys(byUrl).sort(), ['/mid', '/small'], 'only the bodies within bounds and held')
  t.same(byUrl['/small'].body, small)
  t.same(byUrl['/mid'].body, mid, 'a body held whole but handed on as a stream is copied from the held bytes')
  t.same(await mirrorMetrics(gw, 'shadow'), { sent: 2, answered: 2, failed: 0, dropped: 0, skipped: 2 })
})

t.test('a mirror that resets every connection: the process and the answers are untouched', async t => {
  const main = await startBackend(t, 'main')
  const resetter = await startResetter(t)
  const c = config(main.url, resetter.url)
  c.upstreams.shadow.passive = { maxFails: 0 }
  const gw = await startGateway(t, c)
  const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await call(`${gw.url}/api/${i}`, { method: 'POST', body: 'abc' })).status))
  t.same(answers, Array(20).fill(200))
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).failed === 20, { what: '20 failed copies' })
  t.ok(resetter.connections() >= 1)
  t.equal((await call(`${gw.url}/api/after`)).status, 200, 'still serving')
})

t.test('the mirror group\'s balancer and passive ejection choose the copies\' servers', async t => {
  const main = await startBackend(t, 'main')
  const good = await startShadow(t)
  const down = await refusingUrl()
  const c = config(main.url, good.url)
  c.upstreams.shadow = { servers: [{ url: down }, { url: good.url }], passive: { maxFails: 1, maxEjectionPercent: 100, failTimeout: '1m' } }
  const gw = await startGateway(t, c)
  for (let i = 0; i < 10; i++) t.equal((await call(`${gw.url}/api/${i}`)).status, 200)
  await waitFor(async () => { const m = await mirrorMetrics(gw, 'shadow'); return m.answered + m.failed === 10 }, { what: 'every copy ended' })
  const m = await mirrorMetrics(gw, 'shadow')
  t.equal(m.failed, 1, 'one copy failed on the refusing server, which that ejected')
  t.equal(m.answered, 9, 'the rest went to the server left')
  t.equal(good.copies.length, 9)
  t.equal(await metric(gw, `gatehouse_server_failures_total{upstream="shadow",server="${new URL(down).host}"}`), 1)
  t.equal(await metric(gw, `gatehouse_server_ready{upstream="shadow",server="${new URL(down).host}"}`), 0)
  t.equal(await metric(gw, `gatehouse_server_ready{upstream="api",server="${new URL(main.url).host}"}`), 1)
})

t.test('a copy is bounded by the mirror group\'s timeouts.response, and its slot freed', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  shadow.hold()
  const c = config(main.url, shadow.url, { maxInFlight: 1 })
  c.upstreams.shadow.timeouts = { response: 100 }
  c.upstreams.shadow.passive = { maxFails: 0 }
  const gw = await startGateway(t, c)
  t.equal((await call(`${gw.url}/api/1`)).status, 200)
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).failed === 1, { what: 'the copy timed out' })
  t.equal((await call(`${gw.url}/api/2`)).status, 200)
  t.same(await mirrorMetrics(gw, 'shadow'), { sent: 2, answered: 0, failed: 1, dropped: 0, skipped: 0 }, 'the slot was free again')
})

t.test('an answer that trickles for ever is cut after timeouts.response, and its slot freed', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startBackend(t, 'shadow')
  const timers: NodeJS.Timeout[] = []
  t.teardown(() => { for (const x of timers) clearInterval(x) })
  shadow.handle((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain' })
    // A byte well within each pause the body timeout allows, never an end.
    const timer = setInterval(() => res.write('.'), 10)
    timers.push(timer)
    res.once('close', () => clearInterval(timer))
  })
  const c = config(main.url, shadow.url, { maxInFlight: 1 })
  c.upstreams.shadow.timeouts = { response: 200 }
  const gw = await startGateway(t, c)
  t.equal((await call(`${gw.url}/api/1`)).status, 200)
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).answered === 1, { what: 'the copy answered' })
  // While its answer trickles, the one slot is taken: later copies are dropped, until it is cut.
  await waitFor(async () => {
    t.equal((await call(`${gw.url}/api/more`)).status, 200)
    return (await mirrorMetrics(gw, 'shadow')).sent === 2
  }, { what: 'a second copy sent once the first answer was cut', every: 20 })
  t.equal(shadow.hits.length, 2)
})

t.test('an upgrade (WebSocket) is not copied', async t => {
  const main = await startBackend(t, 'main')
  main.server.on('upgrade', (_req, socket) => {
    socket.on('error', () => {})
    socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  })
  const shadow = await startShadow(t)
  const gw = await startGateway(t, config(main.url, shadow.url))
  const { connect } = await import('node:net')
  const head = await new Promise<string>((resolve, reject) => {
    const socket = connect(gw.port, '127.0.0.1', () => {
      socket.write('GET /api/ws HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
    })
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', chunk => {
      data += chunk
      if (data.includes('\r\n\r\n')) {
        socket.destroy()
        resolve(data)
      }
    })
    socket.on('error', reject)
  })
  t.match(head, /^HTTP\/1\.1 101 /, 'the tunnel was made')
  t.equal((await mirrorMetrics(gw, 'shadow')).sent, 0, 'no copy of it')
  t.equal((await call(`${gw.url}/api/plain`)).status, 200)
  t.equal((await mirrorMetrics(gw, 'shadow')).sent, 1, 'a plain request on the route is copied')
  await waitFor(() => shadow.copies.length === 1, { what: 'the plain copy' })
  t.equal(shadow.copies[0].url, '/plain')
})
