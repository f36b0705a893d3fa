import t from 'tap'
import { startBackend, spread, count, type TestBackend } from '../helper'
import { serveHealth, healthHits } from './fixtures/support'
import { sleep, settled, waitFor } from '../wait'
import { startLoggedGateway, fastCheck } from './fixtures/gateway'

const route = [{ match: { path: '/*' }, upstream: 'u' }]

/** When `backend` got its first health check. */
function firstCheckAt (backend: TestBackend): () => number | undefined {
  let at: number | undefined
  backend.server.on('request', req => {
    if (at === undefined && req.url === '/health') at = performance.now()
  })
  return () => at
}

t.test('first checks are spread over the interval', async t => {
  const backends = [await startBackend(t, 'a'), await startBackend(t, 'b'), await startBackend(t, 'c')]
  const firsts = backends.map(firstCheckAt)
  // Long enough that a loaded machine's timer lag (a few hundred ms) cannot fold the plan up.
  const interval = 1500
  await startLoggedGateway(t, {
    upstreams: { u: { servers: backends.map(b => ({ url: b.url })), healthCheck: fastCheck({ interval, timeout: 1000 }) } },
    routes: route
  })
  await waitFor(() => firsts.every(f => f() !== undefined), { what: 'a first check of every server' })
  const times = firsts.map(f => f() as number)
  const span = Math.max(...times) - Math.min(...times)
  // Planned at 0, 500 and 1000 ms; a third of the interval leaves room for timer lag.
  t.ok(span >= interval / 3, `first checks span ${span.toFixed(1)} ms`)
  t.ok(span < interval * 1.5, 'all within about one interval')
})

t.test('closing the gateway stops the checks', async t => {
  const a = await startBackend(t, 'a')
  serveHealth(a)
  const gw = await startLoggedGateway(t, {
    upstreams: { u: { servers: [{ url: a.url }], healthCheck: fastCheck({ interval: 30, timeout: 500 }) } },
    routes: route
  })
  await waitFor(() => healthHits(a) >= 3, { what: 'checks to run' })
  // The timeout is well above what a busy machine takes to answer: a spurious 'timeout' before
  // close would fail the assertions about after close.
  await gw.app.close()
  // A check already on the wire when close began may still land: wait until none has for a
  // while, then watch several intervals (30 ms) for one that should not come.
  const hits = await settled(() => healthHits(a), { quiet: 60, what: 'checks on the wire to land' })
  await sleep(150)
  t.equal(healthHits(a), hits, 'no check after close')
  // A check still scheduled would fail on the closed client and, twice over, mark the server down.
  t.equal(gw.servers('u')[0].healthy, true, 'no failed checks after close either')
  t.same(gw.transitions(), [])
  t.equal(gw.app.gatehouse.registry.listenerCount('update'), 0, 'reload listener removed')
})

t.test('checks follow reloads and keep the state of unchanged servers', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const c = await startBackend(t, 'c')
  const aHealth = serveHealth(a)
  serveHealth(b)
  serveHealth(c)
  const config = (servers: TestBackend[], healthCheck?: ReturnType<typeof fastCheck>) => ({
    upstreams: { u: { servers: servers.map(s => ({ url: s.url })), healthCheck } },
    routes: route
  })
  const gw = await startLoggedGateway(t, config([a, b], fastCheck()))
  const [sa] = gw.servers('u')
  aHealth.status = 503
  await waitFor(() => !sa.healthy, { what: 'a to go unhealthy' })

  t.test('a server removed by a reload is no longer checked; a new one is', async t => {
    gw.app.gatehouse.reload(config([a, c], fastCheck()))
    t.equal(gw.servers('u')[0], sa, 'a kept its object')
    t.equal(sa.healthy, false, 'and its verdict')
    await waitFor(() => healthHits(c) >= 2, { what: 'checks of the new server' })
    const bHits = await settled(() => healthHits(b), { quiet: 100, what: 'checks of b on the wire to land' })
    await sleep(150)
    t.equal(healthHits(b), bHits, 'no checks of the removed server')
    t.same(count(await spread(`${gw.url}/x`, 6)), { c: 6 }, 'a still out of rotation')
  })

  t.test('changed settings apply at once and keep the verdict', async t => {
    gw.app.gatehouse.reload(config([a, c], fastCheck({ path: '/healthz', healthyThreshold: 1 })))
    t.equal(sa.healthy, false, 'a still unhealthy')
    await waitFor(() => healthHits(c, '/healthz') >= 1 && healthHits(a, '/healthz') >= 1, { what: 'checks on the new path' })
    t.equal(sa.healthy, false, 'a still unhealthy after checks on the new path')
    aHealth.status = 200
    const hits = healthHits(a, '/healthz')
    await waitFor(() => sa.healthy, { what: 'a to come back' })
    t.equal(healthHits(a, '/healthz'), hits + 1, 'after one pass: the new healthyThreshold applies')
  })

  t.test('removing healthCheck stops the checks and puts failed servers back', async t => {
    aHealth.status = 503
    await waitFor(() => !sa.healthy, { what: 'a to go unhealthy again' })
    gw.app.gatehouse.reload(config([a, c]))
    t.equal(sa.healthy, true, 'a is back: nothing would ever check it again')
    t.match(gw.transitions().at(-1), { to: 'healthy', reason: 'health check removed' })
    const hits = await settled(() => healthHits(a) + healthHits(c), { quiet: 100, what: 'checks on the wire to land' })
    await sleep(150)
    t.equal(healthHits(a) + healthHits(c), hits, 'no more checks')
    const got = count(await spread(`${gw.url}/x`, 6))
    t.same(got, { a: 3, c: 3 })
  })
})
