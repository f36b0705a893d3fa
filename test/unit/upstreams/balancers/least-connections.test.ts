import t from 'tap'
import { server } from '../../../fixtures/balancing'
import { LeastConnectionsBalancer } from '../../../../lib/upstreams/balancers/least-connections'

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
