import t from 'tap'
import { waitFor } from '../../wait'
import { change, fleetSetup, privateRedis, startLoggedGateway, stateOf } from './support'

t.test('10 000 changes leave Redis holding one entry per server, not per change', async t => {
  const { redis, client } = await privateRedis(t)
  const { config } = await fleetSetup(t)
  const one = await startLoggedGateway(t, config(redis.url), 'warn')
  const two = await startLoggedGateway(t, config(redis.url), 'warn')

  const total = 10_000
  let next = 0
  const worker = async () => {
    while (next < total) {
      const i = next++
      const id = i % 2 === 0 ? 'a' : 'c'
      const body = i % 5 === 0 ? { state: i % 10 === 0 ? 'drain' : 'ready' } : { weight: 1 + (i % 50) }
      const res = await change(one, 'PATCH', `/upstreams/u/servers/${id}`, body)
      if (res.status !== 200) throw new Error(`change ${i} answered ${res.status}`)
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  await waitFor(async () => Number(await client.get('gatehouse:fleet:version')) >= total, { what: 'every change written', timeout: 10_000 })
  await waitFor(() => stateOf(two) === stateOf(one), { what: 'the other instance to agree' })

  t.equal(await client.hlen('gatehouse:fleet:servers'), 2, 'one field per server changed')
  const bytes = Number(await client.call('MEMORY', 'USAGE', 'gatehouse:fleet:servers'))
  t.ok(bytes < 2_000, `the state key is ${bytes} bytes`)
  t.same((await client.keys('gatehouse:*')).sort(), ['gatehouse:fleet:servers', 'gatehouse:fleet:version'], 'no other key (no list, no log)')
})
