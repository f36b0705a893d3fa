import t from 'tap'
import { Backend } from '../../lib/backend'
import { P2CBalancer } from '../../lib/balancers/p2c'

function server (id: string, weight = 1, inflight = 0): Backend {
  const b = new Backend({ id, url: `http://${id}.test`, origin: `http://${id}.test:80`, weight, backup: false })
  b.inflight = inflight
  return b
}

/** mulberry32: a tiny seeded PRNG, so the statistical checks are deterministic. */
function seeded (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 15), z | 1)
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61)
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296
  }
}

function count (balancer: P2CBalancer, candidates: Backend[], n: number): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const s of candidates) counts[s.id] = 0
  for (let i = 0; i < n; i++) counts[balancer.pick(candidates, {}).id]++
  return counts
}

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
