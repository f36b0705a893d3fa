import t from 'tap'
import type { ServerResponse } from 'node:http'
import { startBackend, startGateway, call } from '../helper'
import { within } from './support'
import { waitFor } from '../wait'

t.test('a request that waits timeouts.queue for a pooled connection gets 503 GH_QUEUE_TIMEOUT with retry-after, counted in /metrics', async t => {
  const b = await startBackend(t, 'b')
  const held: ServerResponse[] = []
  b.handle((req, res) => {
    if (req.url === '/hold') held.push(res)
    else res.end('ok')
  })
  t.teardown(() => { for (const res of held) res.end() })
  const gw = await startGateway(t, {
    admin: { port: 0 },
    upstreams: { u: { connections: 1, timeouts: { queue: '300ms' }, servers: [{ url: b.url, id: 'b' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const admin = gw.app.gatehouse.adminUrl as string

  const first = call(`${gw.url}/hold`)
  await waitFor(() => held.length === 1, { what: 'the first request holds the only connection' })

  const queued = await within('the queued request is answered', 5_000, call(`${gw.url}/next`))
  t.equal(queued.status, 503)
  t.equal(queued.headers['retry-after'], '1')
  t.match(queued.json(), { statusCode: 503, code: 'GH_QUEUE_TIMEOUT', upstream: 'u' })
  t.equal(b.hits.length, 1, 'the queued request never reached the backend')

  const metrics = await call(`${admin}/metrics`)
  t.match(metrics.body, /gatehouse_queue_timeouts_total\{upstream="u"\} 1\n/)
  const state = (await call(`${admin}/upstreams`)).json()
  t.match(state.upstreams[0], { queueTimeouts: 1 })
  t.match(state.upstreams[0].servers[0], { id: 'b', state: 'ready', failedAttempts: 0 }, 'a busy server is not a failing one: not ejected')

  held[0].end('done')
  t.equal((await first).body, 'done')
  const after = await call(`${gw.url}/next`)
  t.equal(after.status, 200, 'the freed connection serves the next request')
})

t.test('a request queued behind a free slot is sent as soon as one frees, within the queue timeout', async t => {
  const b = await startBackend(t, 'b')
  const held: ServerResponse[] = []
  b.handle((req, res) => {
    if (req.url === '/hold') held.push(res)
    else res.end('ok')
  })
  const gw = await startGateway(t, {
    upstreams: { u: { connections: 1, timeouts: { queue: '10s' }, servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const first = call(`${gw.url}/hold`)
  await waitFor(() => held.length === 1, { what: 'the first request holds the only connection' })
  const queued = call(`${gw.url}/next`)
  const second = call(`${gw.url}/next`)
  held[0].end('done')
  t.equal((await first).body, 'done')
  t.equal((await within('the first queued request', 5_000, queued)).body, 'ok')
  t.equal((await within('the second queued request', 5_000, second)).body, 'ok')
})

t.test('a queue timeout fails over: nothing was sent, so even a POST goes to another server', async t => {
  const a = await startBackend(t, 'a')
  const c = await startBackend(t, 'c')
  const held: ServerResponse[] = []
  a.handle((req, res) => {
    req.resume()
    if (req.url === '/hold') held.push(res)
    else res.end('from a')
  })
  c.handle((req, res) => { req.resume(); req.on('end', () => res.end('from c')) })
  t.teardown(() => { for (const res of held) res.end() })
  const gw = await startGateway(t, {
    // Hashing on a header sends both requests to the same server first.
    upstreams: { u: { balance: 'hash', hashKey: 'header:k', connections: 1, timeouts: { queue: '300ms' }, servers: [{ url: a.url, id: 'a' }, { url: c.url, id: 'c' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  // Find a key that lands on a, then hold a's only connection with it.
  let key = ''
  for (let i = 0; i < 50 && key === ''; i++) {
    const r = await call(`${gw.url}/probe`, { headers: { k: `k${i}` } })
    if (r.body === 'from a') key = `k${i}`
  }
  t.not(key, '', 'some key lands on a')
  const first = call(`${gw.url}/hold`, { headers: { k: key } })
  await waitFor(() => held.length === 1, { what: 'a\'s only connection is held' })

  const posted = await within('the POST is answered', 5_000, call(`${gw.url}/submit`, { method: 'POST', headers: { k: key }, body: 'payload' }))
  t.equal(posted.status, 200)
  t.equal(posted.body, 'from c', 'the POST went to the other server after waiting for a')
  held[0].end('done')
  await first
})
