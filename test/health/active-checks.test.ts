import t from 'tap'
import { startBackend, spread, count } from '../helper'
import { serveHealth, healthHits, trafficHits } from './fixtures/support'
import { waitFor } from '../wait'
import { startLoggedGateway, fastCheck } from './fixtures/gateway'

const route = [{ match: { path: '/*' }, upstream: 'u' }]

/** Servers a and b behind a gateway with fast checks; a's /health answer can be changed. */
async function twoCheckedServers (t: Parameters<typeof startBackend>[0]) {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const aHealth = serveHealth(a)
  serveHealth(b)
  const gw = await startLoggedGateway(t, {
    upstreams: { u: { servers: [{ url: a.url }, { url: b.url }], healthCheck: fastCheck() } },
    routes: route
  })
  return { a, b, aHealth, gw }
}

t.test('a failing server leaves rotation, takes no traffic, and rejoins once it passes again', async t => {
  const { a, b, aHealth, gw } = await twoCheckedServers(t)
  const [sa] = gw.servers('u')
  await waitFor(() => healthHits(a) >= 2 && healthHits(b) >= 2, { what: 'the first checks' })
  t.same(count(await spread(`${gw.url}/x`, 10)), { a: 5, b: 5 }, 'both in rotation while passing')
  t.same(gw.transitions(), [], 'no transition while passing')

  aHealth.status = 503
  const took = await waitFor(() => !sa.healthy, { timeout: 1000, what: 'a to go unhealthy' })
  // Two failures at most one interval apart, plus the wait for the next check, plus slack for a busy machine.
  t.ok(took <= 50 * 2 + 500, `left rotation ${took} ms after it started failing`)
  const before = trafficHits(a)
  t.same(count(await spread(`${gw.url}/x`, 20)), { b: 20 }, 'all traffic goes to b')
  t.equal(trafficHits(a), before, 'no proxied request reached a')

  // More failing checks must not log again.
  const hits = healthHits(a)
  await waitFor(() => healthHits(a) >= hits + 3, { what: 'more failing checks' })
  const logged = gw.transitions()
  t.equal(logged.length, 1, 'one log entry for the change')
  t.match(logged[0], { level: 40, upstream: 'u', server: `127.0.0.1:${a.port}`, from: 'healthy', to: 'unhealthy', reason: 'status 503' },
    'a warning with upstream, server and reason')

  aHealth.status = 200
  await waitFor(() => sa.healthy, { what: 'a to come back' })
  const after = count(await spread(`${gw.url}/x`, 10))
  t.ok(after.a > 0 && after.b > 0, `both take traffic again (${JSON.stringify(after)})`)
  t.equal(gw.transitions().length, 2)
  t.match(gw.transitions()[1], { level: 30, from: 'unhealthy', to: 'healthy', reason: 'status 200' }, 'recovery logged at info')
})

t.test('a check that hangs past its timeout is a failure', async t => {
  const { a, b, aHealth, gw } = await twoCheckedServers(t)
  const [sa, sb] = gw.servers('u')
  aHealth.status = 'hang'
  await waitFor(() => !sa.healthy, { what: 'a hung check to fail a' })
  t.match(gw.transitions(), [{ to: 'unhealthy', reason: 'timeout' }])
  t.equal(sb.healthy, true, 'the other server is unaffected')
  t.same(count(await spread(`${gw.url}/x`, 6)), { b: 6 })
})

t.test('tcp checks: a killed server goes unhealthy, a restarted one comes back', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const gw = await startLoggedGateway(t, {
    upstreams: { u: { servers: [{ url: a.url }, { url: b.url }], healthCheck: fastCheck({ type: 'tcp' }) } },
    routes: route
  })
  const [sa, sb] = gw.servers('u')
  await a.kill()
  await waitFor(() => !sa.healthy, { what: 'a to go unhealthy' })
  t.match(gw.transitions(), [{ to: 'unhealthy', reason: 'ECONNREFUSED' }])
  t.equal(sb.healthy, true)
  t.equal(healthHits(b), 0, 'tcp checks send no HTTP request')
  await a.restart()
  await waitFor(() => sa.healthy, { what: 'a to come back' })
  t.match(gw.transitions()[1], { to: 'healthy', reason: 'connected' })
})

t.test('an upstream without healthCheck is never probed', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  serveHealth(a)
  serveHealth(b)
  await startLoggedGateway(t, {
    upstreams: {
      u: { servers: [{ url: a.url }], healthCheck: fastCheck() },
      v: { servers: [{ url: b.url }] }
    },
    routes: [...route, { match: { path: '/v/*' }, upstream: 'v' }]
  })
  await waitFor(() => healthHits(a) >= 3, { what: 'checks of u' })
  t.equal(healthHits(b), 0)
})
