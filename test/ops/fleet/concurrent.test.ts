import t from 'tap'
import { waitFor } from '../../wait'
import { change, fleetSetup, privateRedis, serverOn, startLoggedGateway, stateOf } from './support'

t.test('two instances changing the same server at once end in the same state everywhere: the later in Redis order', async t => {
  const { redis, client } = await privateRedis(t)
  const { config } = await fleetSetup(t)
  const one = await startLoggedGateway(t, config(redis.url), 'warn')
  const two = await startLoggedGateway(t, config(redis.url), 'warn')
  const shared = async () => {
    const text = await client.hget('gatehouse:fleet:servers', JSON.stringify(['u', 'c']))
    const { state, weight } = JSON.parse((text ?? '').split('\n')[1] ?? '{}')
    return `${state as string}:${weight as number}`
  }

  for (let round = 0; round < 20; round++) {
    const mine = { state: 'drain', weight: 2 + round }
    const theirs = { state: 'maint', weight: 100 + round }
    const answers = await Promise.all([
      change(one, 'PATCH', '/upstreams/u/servers/c', mine),
      change(two, 'PATCH', '/upstreams/u/servers/c', theirs)
    ])
    if (answers.some(a => a.status !== 200)) t.fail(`round ${round}: ${answers.map(a => a.status).join(', ')}`)
    const want = [`${mine.state}:${mine.weight}`, `${theirs.state}:${theirs.weight}`]
    const on = (gw: typeof one) => `${serverOn(gw, 'c')?.adminState as string}:${serverOn(gw, 'c')?.weight as number}`
    await waitFor(() => on(one) === on(two) && want.includes(on(one)), { what: `round ${round}: both on one of the two writes` })
    t.equal(await shared(), on(one), 'the one Redis kept')
  }
  t.equal(stateOf(one), stateOf(two))
})

t.test('the same id added on two instances at once, with two urls, ends with one url everywhere', async t => {
  const { redis } = await privateRedis(t)
  const { a, b, config } = await fleetSetup(t)
  const one = await startLoggedGateway(t, config(redis.url), 'warn')
  const two = await startLoggedGateway(t, config(redis.url), 'warn')
  const answers = await Promise.all([
    change(one, 'POST', '/upstreams/u/servers', { url: a.url, id: 'new' }),
    change(two, 'POST', '/upstreams/u/servers', { url: b.url, id: 'new' })
  ])
  t.same(answers.map(r => r.status), [201, 201], 'each instance took its own add')
  await waitFor(() => {
    const u1 = serverOn(one, 'new')
    const u2 = serverOn(two, 'new')
    return u1 !== undefined && u2 !== undefined && !one.app.gatehouse.runtime.isRemoving(u1) && !two.app.gatehouse.runtime.isRemoving(u2) && u1.url === u2.url
  }, { what: 'one url for the id on both' })
  t.equal(stateOf(one), stateOf(two))
})
