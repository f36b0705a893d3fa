import t from 'tap'
import { call } from '../../helper'
import { waitFor } from '../../wait'
import { answer, startCached } from './support'

t.test('every server killed: STALE within staleIfError, then an error once past it', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=1' }, 'page'), {
    cache: { staleIfError: '10m' },
    upstream: { passive: { maxFails: 1, maxEjectionPercent: 100 } }
  })
  await call(`${gw.url}/page`)
  gw.advance(5_000)
  await gw.backend.kill()
  const stale = await call(`${gw.url}/page`)
  t.equal(stale.status, 200)
  t.equal(stale.headers['x-cache'], 'STALE')
  t.equal(stale.body, 'page')
  t.equal(stale.headers.age, '5')
  t.equal(stale.headers.warning, undefined, 'no Warning field')
  // The server is ejected now: no server is ready, and the entry still answers.
  t.equal((await call(`${gw.url}/page`)).headers['x-cache'], 'STALE')
  gw.advance(10 * 60_000)
  const late = await call(`${gw.url}/page`)
  t.equal(late.status, 503)
  t.equal(late.json().code, 'GH_NO_SERVER_AVAILABLE')
})

t.test('a backend 5xx is answered from a stale entry within staleIfError', async t => {
  let broken = false
  const gw = await startCached(t, (req, res) => {
    if (broken) {
      res.statusCode = 500
      res.end('oops')
      return
    }
    res.setHeader('cache-control', 'max-age=1')
    res.end('good')
  }, { cache: { staleIfError: '1m' } })
  await call(`${gw.url}/a`)
  broken = true
  gw.advance(2_000)
  const res = await call(`${gw.url}/a`)
  t.same([res.status, res.headers['x-cache'], res.body], [200, 'STALE', 'good'])
})

t.test('a backend timeout is answered from a stale entry', async t => {
  let hang = false
  const gw = await startCached(t, (req, res) => {
    if (hang) return
    res.setHeader('cache-control', 'max-age=1')
    res.end('good')
  }, { cache: { staleIfError: '1m' }, upstream: { timeouts: { response: 300 }, retries: 0 } })
  await call(`${gw.url}/a`)
  hang = true
  gw.advance(2_000)
  const res = await call(`${gw.url}/a`)
  t.same([res.status, res.headers['x-cache']], [200, 'STALE'])
})

t.test("the response's own stale-if-error works without config, and only within it", async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=1, stale-if-error=60' }))
  await call(`${gw.url}/a`)
  await gw.backend.kill()
  gw.advance(30_000)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'STALE')
  gw.advance(40_000)
  t.ok((await call(`${gw.url}/a`)).status >= 502)
})

t.test('without staleIfError a stale entry is not served when the backend is down', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=1' }))
  await call(`${gw.url}/a`)
  await gw.backend.kill()
  gw.advance(2_000)
  t.ok((await call(`${gw.url}/a`)).status >= 502)
})

t.test('staleWhileRevalidate answers a just-stale entry at once and refreshes it behind', async t => {
  let version = 1
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=10')
    res.end(`v${version}`)
  }, { cache: { staleWhileRevalidate: '30s' } })
  await call(`${gw.url}/a`)
  version = 2
  gw.advance(15_000)
  const stale = await call(`${gw.url}/a`)
  t.same([stale.headers['x-cache'], stale.body], ['STALE', 'v1'])
  await waitFor(() => gw.backend.hits.length === 2, { what: 'the background refresh' })
  t.equal(gw.backend.hits[1].headers['x-gatehouse-cache-refresh'], undefined, 'the marker does not reach the backend')
  await waitFor(async () => (await call(`${gw.url}/a`)).body === 'v2', { what: 'the refreshed entry' })
  t.equal(gw.backend.hits.length, 2)
})

t.test("the response's own stale-while-revalidate, and not past it", async t => {
  let n = 0
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=10, stale-while-revalidate=20')
    res.end(`v${++n}`)
  })
  await call(`${gw.url}/a`)
  gw.advance(15_000)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'STALE')
  // The background refresh is stored (not merely sent) before the clock moves past it: else
  // an entry stored after the move would count as fresh from the later time.
  await waitFor(async () => (await call(`${gw.url}/a`)).body === 'v2', { what: 'the refreshed entry' })
  gw.advance(100_000)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'MISS')
})
