import t from 'tap'
import { Upstream } from '../../lib/upstreams/upstream'
import { normalizeConfig } from '../../lib/config'
import type { Backend } from '../../lib/upstreams/backend'
import type { GatehouseConfig } from '../../lib/config'

type UpstreamConfig = GatehouseConfig['upstreams'][string]

/** A fake clock, so that slow start is measured without waiting. */
function fakeClock (start = 1_000_000) {
  const clock = { now: start, read: () => clock.now }
  return clock
}

// A seeded generator (mulberry32), so the random balancers give the same counts every run.
function seeded (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6D2B79F5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function upstream (up: Partial<UpstreamConfig>, clock: ReturnType<typeof fakeClock>) {
  const config = normalizeConfig({
    upstreams: { u: { servers: [{ url: 'http://a:1', id: 'a' }, { url: 'http://b:1', id: 'b' }], ...up } as UpstreamConfig },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }, { env: {} })
  return new Upstream(config.upstreams.get('u')!, seeded(7), clock.read)
}

const req = { ip: '127.0.0.1', url: '/', headers: {} }

/**
 * How many of `n` picks go to `server`. Each pick is held open (in flight), as a slow request
 * would be, so that least-connections and p2c balance by weight rather than all tie at zero.
 */
function share (u: Upstream, server: Backend, n = 1000): number {
  const picked: Backend[] = []
  let hits = 0
  for (let i = 0; i < n; i++) {
    const b = u.select(req) as Backend
    b.inflight++
    picked.push(b)
    if (b === server) hits++
  }
  for (const b of picked) b.inflight--
  return hits / n
}

function drainAndBack (u: Upstream, b: Backend): void {
  u.backends.setAdminState(b, 'drain', false)
  u.backends.setAdminState(b, 'ready', false)
}

for (const balance of ['round-robin', 'random', 'least-connections', 'p2c'] as const) {
  t.test(`${balance}: a server back from drain ramps up linearly over slowStart`, async t => {
    const clock = fakeClock()
    const u = upstream({ balance, slowStart: '10s' }, clock)
    const [, b] = u.backends.all()
    t.ok(Math.abs(share(u, b) - 0.5) < 0.08, 'at start, no slow start: an even share')

    drainAndBack(u, b)
    const first = share(u, b)
    // 10% of its weight against the other's full weight: about 0.1 / 1.1 of the picks.
    t.ok(first > 0 && first < 0.2, `just back: a small share (${first})`)
    clock.now += 5_000
    const half = share(u, b)
    // Half its weight: about a third of the picks.
    t.ok(half > first && half < 0.45, `half way: more (${half})`)
    clock.now += 5_000
    t.ok(Math.abs(share(u, b) - 0.5) < 0.08, 'after slowStart: its full share again')
  })
}

t.test('hash: slow start does not apply, as in Envoy: the keys of a server that comes back are its own', async t => {
  const clock = fakeClock()
  const u = upstream({ balance: 'hash', hashKey: 'path', slowStart: '10s' }, clock)
  const [, b] = u.backends.all()
  const picks = () => Array.from({ length: 200 }, (_, i) => u.select({ ...req, url: `/k${i}` })?.id).join()
  const before = picks()
  drainAndBack(u, b)
  t.equal(picks(), before, 'the same server for every key, at once')
})

t.test('every way back into service starts the slow start; the server\'s own slowStart wins over its group\'s', async t => {
  const clock = fakeClock()
  const u = upstream({ slowStart: '10s', passive: { maxFails: 1, failTimeout: '1s', maxEjectionPercent: 50 } }, clock)
  const [a, b] = u.backends.all()
  t.equal(b.weightAt(clock.now), 1, 'servers a gateway starts with take their full weight')

  u.backends.setHealthy(b, false)
  u.backends.setHealthy(b, true)
  t.equal(b.weightAt(clock.now), 0.1, 'back from failed health checks: 10%')
  clock.now += 2_500
  t.equal(b.weightAt(clock.now), 0.25, 'then linearly')
  clock.now += 7_500
  t.equal(b.weightAt(clock.now), 1)

  t.ok(u.attemptFailed(b, clock.now), 'ejected')
  clock.now += 1_000
  t.equal(u.select(req, { tried: [a] }), b, 'the trial request after failTimeout')
  u.backends.recordSuccess(b)
  t.equal(b.weightAt(clock.now), 0.1, 'back from ejection: 10%')
  clock.now += 10_000

  u.update({ ...u.options, servers: [...u.options.servers, { id: 'c', url: 'http://c:1', origin: 'http://c:1', weight: 4, backup: false, slowStart: 2_000 }] })
  const c = u.backends.get('c') as Backend
  t.equal(c.weightAt(clock.now), 0.4, 'added at run time: 10% of its weight')
  clock.now += 1_000
  t.equal(c.weightAt(clock.now), 2, 'its own 2 s, not the group\'s 10 s')
  t.equal(u.backends.get('a'), a, 'a kept server keeps its object')
  t.equal(a.weightAt(clock.now), 1, 'and is not slowed by the reload')
})

t.test('slowStart 0 (the default): a server back from drain takes its full share at once', async t => {
  const clock = fakeClock()
  const u = upstream({}, clock)
  const [, b] = u.backends.all()
  drainAndBack(u, b)
  t.equal(b.warmSince, undefined, 'no slow start recorded')
  t.equal(share(u, b, 100), 0.5)
})

t.test('a reload keeps a slow start under way and follows a new slowStart; 0 ends it', async t => {
  const clock = fakeClock()
  const u = upstream({ slowStart: '10s' }, clock)
  const [, b] = u.backends.all()
  drainAndBack(u, b)
  clock.now += 2_000
  t.equal(b.weightAt(clock.now), 0.2)
  u.update({ ...u.options, slowStart: 4_000 })
  t.equal(u.backends.all()[1], b, 'the same server object, by id')
  t.equal(b.weightAt(clock.now), 0.5, 'the same start, the new length')
  u.update({ ...u.options, slowStart: 0 })
  t.equal(b.weightAt(clock.now), 1, 'slow start turned off: full weight at once')
})
