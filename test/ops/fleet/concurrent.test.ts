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
    t.same(answers.map(a => a.status), [200, 200])
    const want = [`${mine.state}:${mine.weight}`, `${theirs.state}:${theirs.weight}`]
    await waitFor(async () => {
      const s = await shared()
      const c1 = serverOn(one, 'c')
      const c2 = serverOn(two, 'c')
      return want.includes(s) && `${c1?.adminState}:${c1?.weight}` === s && `${c2?.adminState}:${c2?.weight}` === s
    }, { what: `round ${round}: both on the write Redis kept` })
  }
  t.equal(stateOf(one), stateOf(two))
})
