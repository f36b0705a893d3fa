import t from 'tap'
import type { Backend } from '../../../../lib/upstreams/backend'
import { server } from '../../../fixtures/balancing'
import { RoundRobinBalancer } from '../../../../lib/upstreams/balancers/round-robin'

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
