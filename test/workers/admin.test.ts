import t from 'tap'
import { request } from 'undici'
import { startBackend, startLoggedGateway } from '../helper'
import { startRedis } from '../redis'
import { admin } from '../ops/admin-client'
import { waitFor } from '../wait'
import { configWith, get, startWorkers, type Machine } from './support'

const TOKEN = 'a-token-for-the-admin-api-42'

async function send (m: Machine, method: string, path: string, body?: unknown) {
  const res = await request(`${m.admin}${path}`, {
    method: method as 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  await res.body.text()
  return res.statusCode
}

/** Which backends answered 12 requests on fresh connections (the round-robin spreads them over both workers). */
async function backends (m: Machine): Promise<Set<string>> {
  const seen = new Set<string>()
  for (let i = 0; i < 12; i++) seen.add(String((await get(`${m.url}/x`)).headers['x-backend']))
  return seen
}

t.test('a runtime change through the admin API reaches every worker, and a worker started later', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const m = await startWorkers(t, { ...configWith(a.url, { admin: { port: 0, token: TOKEN } }), upstreams: { u: { servers: [{ url: a.url, id: 'a' }] } } }, { token: TOKEN })
  t.same(await backends(m), new Set(['a']))

  t.equal(await send(m, 'POST', '/upstreams/u/servers', { url: b.url, id: 'b' }), 201)
  t.equal(await send(m, 'PATCH', '/upstreams/u/servers/a', { state: 'maint' }), 200)
  // Broadcast through the primary: applied by the other worker within moments.
  await waitFor(async () => (await backends(m)).size === 1 && (await backends(m)).has('b'), { what: 'every worker sending to b only' })
  t.pass('both workers send to b only')

  const victim = (await m.workers()).workers.find(w => w.id === 2)!.pid
  process.kill(victim, 'SIGKILL')
  await waitFor(async () => (await m.workers()).workers.some(w => w.id === 2 && w.pid !== victim && w.state === 'ready'), { timeout: 10_000, what: 'worker 2 replaced' })
  const seen = await backends(m)
  t.same(seen, new Set(['b']), 'the replacement applied the changes the primary retained')
})

t.test('a split\'s new weights through the admin API reach every worker, and a worker started later', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const m = await startWorkers(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: { v1: { servers: [{ url: a.url }] }, v2: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: [{ name: 'v1', weight: 1 }, { name: 'v2', weight: 0 }] }]
  }, { token: TOKEN })
  t.same(await backends(m), new Set(['a']))
  t.equal(await send(m, 'PATCH', '/routes/0/split', { weights: { v1: 0, v2: 1 } }), 200)
  await waitFor(async () => (await backends(m)).size === 1 && (await backends(m)).has('b'), { what: 'every worker sending to v2 only' })
  t.pass('both workers follow the new weights')

  const victim = (await m.workers()).workers.find(w => w.id === 2)!.pid
  process.kill(victim, 'SIGKILL')
  await waitFor(async () => (await m.workers()).workers.some(w => w.id === 2 && w.pid !== victim && w.state === 'ready'), { timeout: 10_000, what: 'worker 2 replaced' })
  t.same(await backends(m), new Set(['b']), 'the replacement applied the weights the primary retained')
})

/** The value of one series in Prometheus text. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('GET /metrics sums every worker\'s counters; a server\'s state stays one verdict', async t => {
  const a = await startBackend(t, 'a')
  const m = await startWorkers(t, { ...configWith(a.url), upstreams: { u: { servers: [{ url: a.url, id: 'a' }] } } })
  for (let i = 0; i < 20; i++) t.equal((await get(`${m.url}/x`)).status, 200)
  // Each worker reports its count once a second: wait until both served some, so that a sum is a sum.
  await waitFor(async () => (await m.workers()).workers.every(w => w.requests > 0), { what: 'both workers served' })
  const text = (await get(`${m.admin}/metrics`)).body
  t.equal(sample(text, 'gatehouse_requests_total{upstream="u",route="0",status="2xx"}'), 20, 'the 20 requests of both workers')
  t.equal(sample(text, 'gatehouse_server_attempts_total{upstream="u",server="a"}'), 20)
  t.equal(sample(text, 'gatehouse_server_ready{upstream="u",server="a"}'), 1, 'ready is 1, not 1 per worker')
})

t.test('a cache purge through the admin API purges every worker\'s cache', async t => {
  const a = await startBackend(t, 'a')
  a.handle((req, res) => {
    res.setHeader('cache-control', 'max-age=600')
    res.setHeader('x-backend', 'a')
    res.end('cached')
  })
  const m = await startWorkers(t, { ...configWith(a.url, { admin: { port: 0, token: TOKEN } }), cache: {} }, { token: TOKEN })
  // The round-robin hands fresh connections to the workers in turn: each stores its own copy.
  for (let i = 0; i < 6; i++) t.equal((await get(`${m.url}/x`)).status, 200)
  t.equal(a.hits.length, 2, 'one miss per worker, then hits')
  t.equal(await send(m, 'DELETE', '/cache?url=/x'), 200)
  await waitFor(async () => {
    await get(`${m.url}/x`)
    return a.hits.length >= 4
  }, { what: 'both workers missing after the purge' })
  t.pass('both workers fetched /x again')
})

t.test('a change fleet sync brings from Redis reaches every worker', async t => {
  const redis = await startRedis(t)
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const config = {
    admin: { port: 0, token: TOKEN, sync: redis.url },
    upstreams: { u: { servers: [{ url: a.url, id: 'a' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }
  const other = await startLoggedGateway(t, config)
  const m = await startWorkers(t, config, { token: TOKEN })
  await m.gw.waitForLog(l => l.worker === 1 && l.msg === 'admin API listening')
  const base = other.app.gatehouse.adminUrl as string
  t.equal((await admin(base, 'POST', '/upstreams/u/servers', { token: TOKEN, body: { url: b.url, id: 'b' } })).status, 201)
  t.equal((await admin(base, 'PATCH', '/upstreams/u/servers/a', { token: TOKEN, body: { state: 'maint' } })).status, 200)
  await waitFor(async () => (await backends(m)).size === 1 && (await backends(m)).has('b'), { what: 'every worker sending to b only' })
  t.pass('the other instance\'s changes, through Redis to worker 1, through the primary to worker 2')
})
