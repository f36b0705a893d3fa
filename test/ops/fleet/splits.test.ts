import t from 'tap'
import { count, spread, startBackend, type LoggedGateway } from '../../helper'
import { waitFor } from '../../wait'
import { change, privateRedis, startLoggedGateway, TOKEN } from './support'

/** Route 0's weights on one gateway, as its GET /routes has them: `v1:95 v2:5`. */
async function weightsOf (gw: LoggedGateway): Promise<string> {
  const res = await change(gw, 'GET', '/routes')
  return (res.json().routes[0].split as Array<{ name: string, weight: number }>).map(g => `${g.name}:${g.weight}`).join(' ')
}

t.test('a split weight changed on one instance converges on every instance, a later starter, and one reloaded', async t => {
  const { redis } = await privateRedis(t)
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const config = (weights = [95, 5]) => ({
    admin: { port: 0, token: TOKEN, sync: redis.url },
    upstreams: { v1: { servers: [{ url: v1.url }] }, v2: { servers: [{ url: v2.url }] } },
    routes: [{ match: { path: '/*' }, upstream: [{ name: 'v1', weight: weights[0] }, { name: 'v2', weight: weights[1] }] }]
  })
  const one = await startLoggedGateway(t, config())
  const two = await startLoggedGateway(t, config())

  t.equal((await change(one, 'PATCH', '/routes/0/split', { weights: { v1: 0, v2: 10 } })).status, 200)
  await waitFor(async () => await weightsOf(two) === 'v1:0 v2:10', { what: 'the other instance to take the PATCH', timeout: 1000 })
  t.same(count(await spread(two.url, 20)), { v2: 20 }, 'the other instance sends every request to v2')
  const applied = two.logs.filter(l => l.msg === 'admin change' && l.change.route === 0)
  t.equal(applied.length, 1, 'applied there once')
  t.equal(applied[0].change.by.startsWith('fleet:'), true, 'logged as coming from the fleet')

  // A second change, on the other instance: the later one wins on both.
  t.equal((await change(two, 'PATCH', '/routes/0/split', { weights: { v1: 3 } })).status, 200)
  await waitFor(async () => await weightsOf(one) === 'v1:3 v2:10', { what: 'the first to take the second PATCH', timeout: 1000 })
  t.equal(one.logs.filter(l => l.msg === 'admin change').length, 2, 'its own change and the other\'s: no echo')

  const three = await startLoggedGateway(t, config())
  t.equal(await weightsOf(three), 'v1:3 v2:10', 'a later starter serves with the shared weights')

  // A reload makes the file the truth, then the shared state is put back over it.
  two.app.gatehouse.reload(config([50, 50]))
  await waitFor(async () => await weightsOf(two) === 'v1:3 v2:10', { what: 'the shared weights back after the reload', timeout: 1000 })
  t.equal(await weightsOf(one), 'v1:3 v2:10', 'the others keep theirs')
  t.equal(two.logs.filter(l => l.msg === 'split weights reloaded').length, 1, 'the file\'s weights were applied first')
})

t.test('a shared weight for a route another instance does not have as a split is skipped', async t => {
  const { redis } = await privateRedis(t)
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const upstreams = { v1: { servers: [{ url: v1.url }] }, v2: { servers: [{ url: v2.url }] } }
  const one = await startLoggedGateway(t, {
    admin: { port: 0, token: TOKEN, sync: redis.url },
    upstreams,
    routes: [{ match: { path: '/*' }, upstream: [{ name: 'v1', weight: 1 }, { name: 'v2', weight: 1 }] }]
  })
  const two = await startLoggedGateway(t, {
    admin: { port: 0, token: TOKEN, sync: redis.url },
    upstreams,
    routes: [{ match: { path: '/other/*' }, upstream: [{ name: 'v1', weight: 1 }, { name: 'v2', weight: 1 }] }, { match: { path: '/*' }, upstream: 'v1' }]
  })
  t.equal((await change(one, 'PATCH', '/routes/0/split', { weights: { v2: 0 } })).status, 200)
  const three = await startLoggedGateway(t, {
    admin: { port: 0, token: TOKEN, sync: redis.url },
    upstreams,
    routes: [{ match: { path: '/*' }, upstream: [{ name: 'v1', weight: 1 }, { name: 'v2', weight: 1 }] }]
  })
  t.equal(await weightsOf(three), 'v1:1 v2:0', 'the same route elsewhere takes it')
  t.equal(await weightsOf(two), 'v1:1 v2:1', 'route 0 with another path keeps its own')
})
