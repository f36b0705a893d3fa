import t from 'tap'
import { server, seeded, pickCounts as count } from '../../../fixtures/balancing'
import { P2CBalancer } from '../../../../lib/upstreams/balancers/p2c'

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
