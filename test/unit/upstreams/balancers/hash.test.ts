import t from 'tap'
import type { Backend } from '../../../../lib/upstreams/backend'
import { server } from '../../../fixtures/balancing'
import { HashBalancer, hash32 } from '../../../../lib/upstreams/balancers/hash'

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
