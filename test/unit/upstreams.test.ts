import t from 'tap'
import { Upstream } from '../../lib/upstreams/upstream'
import { normalizeConfig } from '../../lib/config'
import type { Backend } from '../../lib/upstreams/backend'
import type { GatehouseConfig, ServerOptions } from '../../lib/config'
import { BackendSet } from '../../lib/upstreams/backend-set'
import { server, seeded, pickCounts as count } from '../fixtures/balancing'
import { HashBalancer, hash32 } from '../../lib/upstreams/balancers/hash'
import { LeastConnectionsBalancer } from '../../lib/upstreams/balancers/least-connections'
import { P2CBalancer } from '../../lib/upstreams/balancers/p2c'
import { RandomBalancer } from '../../lib/upstreams/balancers/random'
import { RoundRobinBalancer } from '../../lib/upstreams/balancers/round-robin'
import { HealthState } from '../../lib/upstreams/health'
import { Signer } from '@fastify/cookie'
import type { IncomingHttpHeaders } from 'node:http'
import { TokenCache, encodeClaim, readClaim, reloadableSigner, sharedCookieNames, takeCookie } from '../../lib/upstreams/sticky-cookie'

t.test('balancers/slow-start', async t => {
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
})

t.test('backend-admin-state', async t => {
  const opts = (id: string, backup = false): ServerOptions => ({ id, url: `http://${id}:80`, origin: `http://${id}:80`, weight: 1, backup })
  const ids = (list: readonly { id: string }[]) => list.map(b => b.id)

  t.test('drain and maint take a server out of the ready lists; ready puts it back', async t => {
    const set = new BackendSet([opts('a'), opts('b'), opts('c', true)], { passive: { maxFails: 1, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
    const b = set.get('b')!
    t.same(ids(set.ready(0).primary), ['a', 'b'])
    t.equal(set.setAdminState(b, 'drain', false), 'ready', 'returns the state before')
    t.same(ids(set.ready(0).primary), ['a'], 'the cached list was rebuilt')
    set.setAdminState(b, 'maint', false)
    t.same(ids(set.ready(0).primary), ['a'])
    set.setAdminState(b, 'ready', false)
    t.same(ids(set.ready(0).primary), ['a', 'b'])
    t.ok(b.healthy, 'without checks it is healthy at once')
    set.setAdminState(set.get('c')!, 'drain', false)
    t.same(ids(set.ready(0).backup), [], 'backups too')
  })

  t.test('leaving maint in a checked group, a server must pass its checks again', async t => {
    const set = new BackendSet([opts('a'), opts('b')], { passive: { maxFails: 1, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
    const b = set.get('b')!
    set.setAdminState(b, 'maint', true)
    set.setAdminState(b, 'ready', true)
    t.notOk(b.healthy)
    t.same(ids(set.ready(0).primary), ['a'])
    const a = set.get('a')!
    set.setAdminState(a, 'drain', true)
    set.setAdminState(a, 'ready', true)
    t.ok(a.healthy, 'drain → ready keeps the verdict: checks never stopped')
  })

  t.test('an ejection running out does not bring back a drained server', async t => {
    const set = new BackendSet([opts('a'), opts('b')], { passive: { maxFails: 1, failTimeout: 100, maxEjectionPercent: 100 }, slowStart: 0 })
    const b = set.get('b')!
    set.recordFailure(b, 0)
    set.setAdminState(b, 'drain', false)
    t.same(ids(set.ready(200).primary), ['a'])
  })

  t.test('a reload (update) keeps the admin state of a server it keeps', async t => {
    const set = new BackendSet([opts('a'), opts('b')], { passive: { maxFails: 1, failTimeout: 100, maxEjectionPercent: 100 }, slowStart: 0 })
    set.setAdminState(set.get('b')!, 'drain', false)
    set.update([opts('a'), opts('b')], { passive: { maxFails: 1, failTimeout: 100, maxEjectionPercent: 100 }, slowStart: 0 })
    t.equal(set.get('b')!.adminState, 'drain', 'RuntimeServers.reset() is what clears it on a reload')
  })
})

t.test('backend-set', async t => {
  const opts = (id: string, extra: Partial<ServerOptions> = {}): ServerOptions => ({
    id, url: `http://${id}`, origin: `http://${id}:80`, weight: 1, backup: false, ...extra
  })
  const ids = (list: readonly { id: string }[]) => list.map(b => b.id)

  t.test('update keeps unchanged servers and their state; removed ones drain', async t => {
    const set = new BackendSet([opts('a'), opts('b'), opts('c')], { passive: { maxFails: 3, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
    const [a, b] = set.all()
    a.inflight = 4
    b.healthy = false
    set.markChanged()
    const { added, removed } = set.update([opts('a', { weight: 5 }), opts('b'), opts('d', { backup: true })], { passive: { maxFails: 3, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
    t.same(ids(added), ['d'])
    t.same(ids(removed), ['c'])
    t.equal(removed[0].draining, true)
    t.equal(set.all()[0], a, 'same object')
    t.equal(a.inflight, 4, 'in-flight count kept')
    t.equal(a.weight, 5, 'weight follows the config')
    t.equal(set.all()[1].healthy, false, 'health kept')
    const ready = set.ready(Date.now())
    t.same(ids(ready.primary), ['a'])
    t.same(ids(ready.backup), ['d'])
  })

  t.test('a server whose URL changed under the same id starts afresh', async t => {
    const set = new BackendSet([opts('a')], { passive: { maxFails: 3, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
    const old = set.all()[0]
    old.healthy = false
    const { added, removed } = set.update([{ ...opts('a'), url: 'http://elsewhere' }], { passive: { maxFails: 3, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
    t.equal(added.length, 1)
    t.equal(removed[0], old)
    t.equal(set.all()[0].healthy, true)
  })

  t.test('passive ejection: maxFails within failTimeout, then one trial', async t => {
    const set = new BackendSet([opts('a'), opts('b')], { passive: { maxFails: 2, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
    const a = set.all()[0]
    t.notOk(set.recordFailure(a, 0))
    t.notOk(set.recordFailure(a, 1500), 'the first failure is outside the window')
    t.ok(set.recordFailure(a, 1600), 'two within the window eject')
    t.same(ids(set.ready(1700).primary), ['b'])
    t.same(ids(set.ready(2600).primary), ['a', 'b'], 'back when the ejection runs out')
    set.markChosen(a)
    t.same(ids(set.ready(2600).primary), ['b'], 'only one trial request at a time')
    set.recordSuccess(a)
    t.same(ids(set.ready(2600).primary), ['a', 'b'])
    t.equal(a.ejectedUntil, 0)
  })

  t.test('maxFails 0 turns passive ejection off', async t => {
    const set = new BackendSet([opts('a')], { passive: { maxFails: 0, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
    const a = set.all()[0]
    for (let i = 0; i < 10; i++) t.notOk(set.recordFailure(a, i))
    t.same(ids(set.ready(10).primary), ['a'])
  })
})

t.test('balancers/hash', async t => {
  const KEYS = Array.from({ length: 10000 }, (_, i) => `user-${i}`)

  function assign (balancer: HashBalancer, candidates: Backend[]): string[] {
    return KEYS.map(hashKey => balancer.pick(candidates, { hashKey }).id)
  }

  function tally (ids: string[]): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const id of ids) counts[id] = (counts[id] ?? 0) + 1
    return counts
  }

  t.test('the same key always goes to the same server', async t => {
    const servers = [server('a'), server('b'), server('c')]
    const first = assign(new HashBalancer(servers), servers)
    // A separately built ring (servers listed in another order) agrees too.
    const again = assign(new HashBalancer([...servers].reverse()), servers)
    t.same(again, first)
    t.ok(new Set(first).size > 1)
  })

  t.test('keys spread evenly over equal servers', async t => {
    const servers = [server('a'), server('b'), server('c')]
    const counts = tally(assign(new HashBalancer(servers), servers))
    for (const s of servers) {
      const n = counts[s.id] ?? 0
      t.ok(n > 10000 / 3 * 0.75 && n < 10000 / 3 * 1.25, `${s.id}: ${n}`)
    }
  })

  t.test('weights scale a server\'s share of keys', async t => {
    const servers = [server('a', 2), server('b'), server('c')]
    const counts = tally(assign(new HashBalancer(servers), servers))
    t.ok(counts.a > 4000 && counts.a < 6000, `a: ${counts.a}`)
  })

  t.test('removing one of five servers remaps only its own keys', async t => {
    const servers = ['a', 'b', 'c', 'd', 'e'].map(id => server(id))
    const before = assign(new HashBalancer(servers), servers)
    const rest = servers.filter(s => s.id !== 'c')
    const after = assign(new HashBalancer(rest), rest)
    let moved = 0
    let movedFromOthers = 0
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] === after[i]) continue
      moved++
      if (before[i] !== 'c') movedFromOthers++
    }
    t.equal(movedFromOthers, 0, 'no key moved off a remaining server')
    t.ok(moved > 1000 && moved < 3000, `moved: ${moved}`)
    t.equal(moved, before.filter(id => id === 'c').length)
  })

  t.test('a server left out of the candidates moves only its own keys', async t => {
    const servers = ['a', 'b', 'c', 'd', 'e'].map(id => server(id))
    const hash = new HashBalancer(servers)
    const before = assign(hash, servers)
    const after = assign(hash, servers.filter(s => s.id !== 'b'))
    let wrong = 0
    for (let i = 0; i < KEYS.length; i++) {
      if (before[i] === 'b' ? after[i] === 'b' : after[i] !== before[i]) wrong++
    }
    t.equal(wrong, 0, 'b\'s keys all moved, no other key did')
    // Its keys go to the several servers that follow its points, not to one neighbour.
    const inherited = tally(after.filter((_, i) => before[i] === 'b'))
    t.equal(Object.keys(inherited).length, 4)
    // Back in the candidates, it gets exactly its keys back.
    t.same(assign(hash, servers), before)
  })

  t.test('only a candidate is returned, even with a single one left', async t => {
    const servers = ['a', 'b', 'c'].map(id => server(id))
    const hash = new HashBalancer(servers)
    t.same(new Set(assign(hash, [servers[2]])), new Set(['c']))
  })

  t.test('a missing hash key hashes as the empty string', async t => {
    const servers = ['a', 'b', 'c'].map(id => server(id))
    const hash = new HashBalancer(servers)
    t.equal(hash.pick(servers, {}), hash.pick(servers, { hashKey: '' }))
  })

  t.test('hash32 is a stable, well-mixed 32-bit hash', async t => {
    t.equal(hash32('user-1'), hash32('user-1'))
    t.ok(Number.isInteger(hash32('x')) && hash32('x') >= 0 && hash32('x') < 2 ** 32)
    // Keys differing only in their last character should differ in about half of the
    // 32 bits; plain FNV-1a gives far fewer, leaving neighbouring keys clustered on the ring.
    let flipped = 0
    for (let i = 0; i < 9; i++) {
      for (let j = 0; j < 100; j++) {
        let x = hash32(`user-${j}${i}`) ^ hash32(`user-${j}${i + 1}`)
        while (x !== 0) { flipped += x & 1; x >>>= 1 }
      }
    }
    const mean = flipped / 900
    t.ok(mean > 15 && mean < 17, `mean bits flipped: ${mean}`)
  })
})

t.test('balancers/least-connections', async t => {
  t.test('avoids a server with many requests in flight', async t => {
    const servers = [server('a', 1, 10), server('b', 1, 2), server('c', 1, 5)]
    const lc = new LeastConnectionsBalancer(servers)
    for (let i = 0; i < 5; i++) t.equal(lc.pick(servers, {}).id, 'b')
  })

  t.test('ties rotate instead of piling onto the first server', async t => {
    const servers = [server('a'), server('b'), server('c')]
    const lc = new LeastConnectionsBalancer(servers)
    let seq = ''
    for (let i = 0; i < 6; i++) seq += lc.pick(servers, {}).id
    t.equal(seq, 'abcabc')

    const two = [server('x'), server('y')]
    const lc2 = new LeastConnectionsBalancer(two)
    seq = ''
    for (let i = 0; i < 4; i++) seq += lc2.pick(two, {}).id
    t.equal(seq, 'xyxy')
  })

  t.test('rotation runs among the tied servers only', async t => {
    const servers = [server('a', 1, 3), server('b'), server('c', 1, 3), server('d')]
    const lc = new LeastConnectionsBalancer(servers)
    let seq = ''
    for (let i = 0; i < 4; i++) seq += lc.pick(servers, {}).id
    t.equal(seq, 'bdbd')
  })

  t.test('load is compared relative to weight', async t => {
    // 2 of weight 3 is lighter than 1 of weight 1.
    let a = server('a', 3, 2)
    let b = server('b', 1, 1)
    t.equal(new LeastConnectionsBalancer([a, b]).pick([a, b], {}).id, 'a')
    // 3 of weight 2 is heavier than 1 of weight 1.
    a = server('a', 2, 3)
    b = server('b', 1, 1)
    t.equal(new LeastConnectionsBalancer([a, b]).pick([a, b], {}).id, 'b')
  })

  t.test('requests that never finish spread in proportion to weight', async t => {
    const servers = [server('a', 3), server('b', 1)]
    const lc = new LeastConnectionsBalancer(servers)
    for (let i = 0; i < 40; i++) lc.pick(servers, {}).inflight++
    t.equal(servers[0].inflight, 30)
    t.equal(servers[1].inflight, 10)
  })

  t.test('only candidates are chosen', async t => {
    const a = server('a', 1, 0)
    const b = server('b', 1, 4)
    const lc = new LeastConnectionsBalancer([a, b])
    t.equal(lc.pick([b], {}).id, 'b')
  })
})

t.test('balancers/p2c', async t => {
  t.test('a loaded server never beats an idle one', async t => {
    const servers = [server('a'), server('b'), server('c', 1, 50)]
    const counts = count(new P2CBalancer(servers, { random: seeded(7) }), servers, 30000)
    t.equal(counts.c, 0)
    // a and b tie when paired, so the first drawn wins: an even split.
    t.ok(Math.abs(counts.a - 15000) < 600, `a: ${counts.a}`)
  })

  t.test('a middling server wins only when paired with the heaviest', async t => {
    // Of the three equally likely pairs, c wins only {b, c}, a wins the other two.
    const servers = [server('a', 1, 0), server('b', 1, 10), server('c', 1, 5)]
    const counts = count(new P2CBalancer(servers, { random: seeded(8) }), servers, 30000)
    t.equal(counts.b, 0)
    t.ok(Math.abs(counts.c - 10000) < 600, `c: ${counts.c}`)
    t.ok(Math.abs(counts.a - 20000) < 600, `a: ${counts.a}`)
  })

  t.test('the two choices are always distinct', async t => {
    // Drawing the same server twice would let the loaded one through.
    const servers = [server('a'), server('b', 1, 5)]
    const counts = count(new P2CBalancer(servers, { random: seeded(9) }), servers, 5000)
    t.equal(counts.b, 0)
    t.equal(counts.a, 5000)
  })

  t.test('load is compared relative to weight', async t => {
    // 2 of weight 4 is lighter than 1 of weight 1.
    const servers = [server('a', 1, 1), server('b', 4, 2)]
    const counts = count(new P2CBalancer(servers, { random: seeded(10) }), servers, 1000)
    t.equal(counts.b, 1000)
  })

  t.test('a single candidate is returned without drawing', async t => {
    const a = server('a')
    const p2c = new P2CBalancer([a], { random: () => { throw new Error('drew') } })
    t.equal(p2c.pick([a], {}), a)
  })

  t.test('an RNG returning 1 still yields a candidate', async t => {
    const servers = [server('a'), server('b'), server('c')]
    const picked = new P2CBalancer(servers, { random: () => 1 }).pick(servers, {})
    t.ok(servers.includes(picked))
  })
})

t.test('balancers/random', async t => {
  t.test('picks follow the weights', async t => {
    const servers = [server('a', 5), server('b', 3), server('c', 2)]
    const counts = count(new RandomBalancer(servers, { random: seeded(1) }), servers, 30000)
    // Expected 15000 / 9000 / 6000; ±4% is many standard deviations (about 87, 79, 69).
    t.ok(Math.abs(counts.a - 15000) < 600, `a: ${counts.a}`)
    t.ok(Math.abs(counts.b - 9000) < 600, `b: ${counts.b}`)
    t.ok(Math.abs(counts.c - 6000) < 600, `c: ${counts.c}`)
  })

  t.test('only candidates are chosen, weighted among themselves', async t => {
    const a = server('a', 1)
    const b = server('b', 3)
    const c = server('c', 100)
    const counts = count(new RandomBalancer([a, b, c], { random: seeded(2) }), [a, b], 20000)
    t.equal(counts.c, undefined)
    t.ok(Math.abs(counts.a - 5000) < 400, `a: ${counts.a}`)
    t.equal(counts.a + counts.b, 20000)
  })

  t.test('the injected RNG maps onto weight ranges', async t => {
    const servers = [server('a', 1), server('b', 2), server('c', 1)]
    const at = (r: number): string => new RandomBalancer(servers, { random: () => r }).pick(servers, {}).id
    t.equal(at(0), 'a')
    t.equal(at(0.24), 'a')
    t.equal(at(0.25), 'b')
    t.equal(at(0.74), 'b')
    t.equal(at(0.75), 'c')
    // An RNG that (wrongly) returns 1 must still yield a candidate.
    t.equal(at(1), 'c')
  })
})

t.test('balancers/round-robin', async t => {
  function picks (rr: RoundRobinBalancer, candidates: Backend[], n: number): string {
    let seq = ''
    for (let i = 0; i < n; i++) seq += rr.pick(candidates, {}).id
    return seq
  }

  t.test('weights 5,1,1 interleave as nginx does', async t => {
    const servers = [server('a', 5), server('b'), server('c')]
    const rr = new RoundRobinBalancer(servers)
    t.equal(picks(rr, servers, 21), 'aabacaa'.repeat(3))
  })

  t.test('equal weights share exactly', async t => {
    const servers = [server('a'), server('b'), server('c')]
    const rr = new RoundRobinBalancer(servers)
    const seq = picks(rr, servers, 30)
    t.equal(seq, 'abc'.repeat(10))
    for (const id of ['a', 'b', 'c']) t.equal(seq.split(id).length - 1, 10, id)
  })

  t.test('a candidate left out mid-way keeps the rest smooth and rejoins with its credit', async t => {
    const a = server('a', 2)
    const b = server('b')
    const c = server('c')
    const rr = new RoundRobinBalancer([a, b, c])
    t.equal(picks(rr, [a, b, c], 2), 'ab')
    // c is down: a and b keep a 2:1 share with no burst of b.
    t.equal(picks(rr, [a, b], 6), 'aabaab')
    // c's current weight was untouched while it was out, so it is owed the next pick.
    t.equal(picks(rr, [a, b, c], 8), 'caabcaab')
  })

  t.test('a single candidate is always returned', async t => {
    const a = server('a', 3)
    const b = server('b')
    const rr = new RoundRobinBalancer([a, b])
    t.equal(picks(rr, [b], 4), 'bbbb')
  })

  t.test('a weight change takes effect on the next picks', async t => {
    const a = server('a')
    const b = server('b')
    const rr = new RoundRobinBalancer([a, b])
    t.equal(picks(rr, [a, b], 4), 'abab')
    a.weight = 3
    const seq = picks(rr, [a, b], 40)
    t.equal(seq.split('a').length - 1, 30)
  })
})

t.test('health-state', async t => {
  t.test('starts healthy', async t => {
    const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 3 })
    t.equal(s.status, 'healthy')
    t.equal(s.healthy, true)
    t.equal(s.record(true), undefined, 'a pass while healthy changes nothing')
  })

  t.test('leaves after unhealthyThreshold consecutive failures, with the last reason', async t => {
    const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 3 })
    t.equal(s.record(false, 'status 500'), undefined)
    t.equal(s.record(false, 'status 502'), undefined)
    t.same(s.record(false, 'timeout'), { from: 'healthy', to: 'unhealthy', reason: 'timeout' })
    t.equal(s.healthy, false)
  })

  t.test('a pass between failures resets the count', async t => {
    const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 2 })
    s.record(false)
    s.record(true)
    t.equal(s.record(false), undefined, 'not two in a row')
    t.ok(s.record(false), 'now two in a row')
  })

  t.test('returns after healthyThreshold consecutive passes; a failure resets the count', async t => {
    const s = new HealthState({ healthyThreshold: 3, unhealthyThreshold: 1 })
    t.same(s.record(false, 'ECONNREFUSED'), { from: 'healthy', to: 'unhealthy', reason: 'ECONNREFUSED' })
    t.equal(s.record(true), undefined)
    t.equal(s.record(true), undefined)
    t.equal(s.record(false), undefined, 'a failure while unhealthy changes nothing')
    t.equal(s.record(true), undefined)
    t.equal(s.record(true), undefined)
    t.same(s.record(true, 'status 200'), { from: 'unhealthy', to: 'healthy', reason: 'status 200' })
    t.equal(s.healthy, true)
  })

  t.test('one transition per change, however long the streak', async t => {
    const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 2 })
    const results = [false, false, false, false, false, true, true, true, true, false, true]
    const transitions = results.map(ok => s.record(ok)).filter(x => x !== undefined)
    t.same(transitions.map(x => `${x.from}->${x.to}`), ['healthy->unhealthy', 'unhealthy->healthy'])
  })

  t.test('thresholds of 1 flip on every differing result', async t => {
    const s = new HealthState({ healthyThreshold: 1, unhealthyThreshold: 1 })
    t.ok(s.record(false))
    t.ok(s.record(true))
    t.ok(s.record(false))
  })

  t.test('reconfigure keeps the status and restarts the streak under the new thresholds', async t => {
    const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 1 })
    s.record(false)
    s.record(true)
    s.reconfigure({ healthyThreshold: 3, unhealthyThreshold: 1 })
    t.equal(s.status, 'unhealthy')
    t.equal(s.record(true), undefined)
    t.equal(s.record(true), undefined)
    t.ok(s.record(true), 'three passes after the change')
  })
})

t.test('sticky-cookie', async t => {
  const SECRET = 'sticky-test-secret-0123456789abcdef'

  function upstream (name: string, urls: string[]): Upstream {
    const config = normalizeConfig({ upstreams: { [name]: { servers: urls.map(url => ({ url })) } }, routes: [{ match: { path: '/*' }, upstream: name }] }, { env: {} })
    return new Upstream(config.upstreams.get(name)!)
  }

  t.test('a claim survives encoding and signing; tampered, malformed and expired ones do not', async t => {
    const signer = new Signer(SECRET)
    const now = 1_700_000_000_000
    const value = signer.sign(encodeClaim({ token: 'abc', expires: now + 1000 }))
    t.same(readClaim(signer.unsign(value), now), { token: 'abc', expires: now + 1000 })
    t.equal(readClaim(signer.unsign(value), now + 1000), undefined, 'expired at its expiry')
    t.equal(readClaim(signer.unsign('x' + value), now), undefined, 'tampered')
    t.equal(readClaim(new Signer('another-secret-another-secret-another').unsign(value), now), undefined, 'another secret')
    t.equal(readClaim({ valid: true, value: 'noexpiry' }, now), undefined, 'no dot')
    t.equal(readClaim({ valid: true, value: '.abc' }, now), undefined, 'no token')
    t.equal(readClaim({ valid: true, value: 'abc.!!' }, now), undefined, 'expiry not a number')
    t.equal(readClaim({ valid: true, value: null }, now), undefined)
  })

  t.test('takeCookie removes only the named cookie from the header the backend gets', async t => {
    const headers: IncomingHttpHeaders = { cookie: 'a=1; gh_sticky=v; b=2' }
    t.equal(takeCookie(headers, 'gh_sticky'), 'v')
    t.equal(headers.cookie, 'a=1; b=2')

    const alone: IncomingHttpHeaders = { cookie: 'gh_sticky=v' }
    t.equal(takeCookie(alone, 'gh_sticky'), 'v')
    t.notOk('cookie' in alone, 'no empty Cookie header is left')

    const prefix: IncomingHttpHeaders = { cookie: 'gh_sticky_other=1' }
    t.equal(takeCookie(prefix, 'gh_sticky'), undefined, 'a longer name is another cookie')
    t.equal(prefix.cookie, 'gh_sticky_other=1')

    t.equal(takeCookie({}, 'gh_sticky'), undefined)
    t.equal(takeCookie({ cookie: 'gh_sticky=first; gh_sticky=second' }, 'gh_sticky'), 'first', 'the first of two wins')
    t.equal(takeCookie({ cookie: 'gh_sticky="quoted"' }, 'gh_sticky'), 'quoted')
    t.equal(takeCookie({ cookie: 'gh_sticky=a%3Ab' }, 'gh_sticky'), 'a:b')
    t.equal(takeCookie({ cookie: 'gh_sticky=%E0%A4%A' }, 'gh_sticky'), '%E0%A4%A', 'broken percent-encoding is kept as it is')
  })

  t.test('tokens are opaque, stable per secret, and found among the current servers only', async t => {
    let secret = SECRET
    const tokens = new TokenCache(() => secret)
    const u = upstream('app', ['http://127.0.0.1:9001', 'http://127.0.0.1:9002'])
    const [a, b] = u.backends.all()
    const ta = tokens.of(u, a)
    t.match(ta, /^[A-Za-z0-9_-]{16}$/)
    t.notMatch(ta, /9001|127/, 'reveals no address')
    t.not(tokens.of(u, b), ta)
    t.equal(tokens.of(u, a), ta, 'cached')
    t.equal(tokens.find(u, ta), a)
    t.equal(tokens.find(u, 'unknown'), undefined)
    const other = upstream('other', ['http://127.0.0.1:9001'])
    t.not(tokens.of(other, other.backends.all()[0]), ta, 'the same server in another upstream: another token')
    t.equal(new TokenCache(() => SECRET).of(u, a), ta, 'another instance with the same secret agrees')

    secret = 'a-changed-secret-a-changed-secret-00'
    t.not(tokens.of(u, a), ta, 'a new secret gives new tokens')
    t.equal(tokens.find(u, ta), undefined)
  })

  t.test('the reloadable signer follows the secret in force', async t => {
    let secret: string | undefined
    const signer = reloadableSigner(() => secret)
    t.throws(() => signer.sign('x'), /cookieSecret is not set/)
    secret = SECRET
    const signed = signer.sign('x')
    t.same(signer.unsign(signed), new Signer(SECRET).unsign(signed))
    t.equal(signed, new Signer(SECRET).sign('x'), 'the same signature as @fastify/cookie\'s')
    secret = 'a-changed-secret-a-changed-secret-00'
    t.equal(signer.unsign(signed).valid, false)
  })

  t.test('cookie names shared by sticky upstreams are reported', async t => {
    t.same(sharedCookieNames([
      { name: 'a', sticky: { cookie: 's' } },
      { name: 'b' },
      { name: 'c', sticky: { cookie: 's' } },
      { name: 'd', sticky: { cookie: 'other' } }
    ]), [{ cookie: 's', upstreams: ['a', 'c'] }])
  })
})

t.test('upstream', async t => {
  function upstream (servers: Array<{ url: string, backup?: boolean }>) {
    const config = normalizeConfig({ upstreams: { u: { servers } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }, { env: {} })
    return new Upstream(config.upstreams.get('u')!)
  }
  const req = { ip: '127.0.0.1', url: '/', headers: {} }

  t.test('tried servers are skipped, then backups, then nothing', async t => {
    const u = upstream([{ url: 'http://a:1' }, { url: 'http://b:1' }, { url: 'http://c:1', backup: true }])
    const [a, b, c] = u.backends.all()
    t.equal(u.select(req, { tried: [a] }), b)
    t.equal(u.select(req, { tried: [a, b] }), c, 'the backup once every primary was tried')
    t.equal(u.select(req, { tried: [a, b, c] }), undefined)
  })

  t.test('a preferred server wins only while it is a candidate', async t => {
    const u = upstream([{ url: 'http://a:1' }, { url: 'http://b:1' }])
    const [a, b] = u.backends.all()
    for (let i = 0; i < 4; i++) t.equal(u.select(req, { preferred: b }), b)
    b.healthy = false
    u.backends.markChanged()
    t.equal(u.select(req, { preferred: b }), a, 'not while it is down')
    b.healthy = true
    u.backends.markChanged()
    t.equal(u.select(req, { tried: [b], preferred: b }), a, 'not once tried')
  })
})
