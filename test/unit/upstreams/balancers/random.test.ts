import t from 'tap'
import { server, seeded, pickCounts as count } from '../../../fixtures/balancing'
import { RandomBalancer } from '../../../../lib/upstreams/balancers/random'

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
