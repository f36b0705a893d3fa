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
  // Written in order on one connection: once the other has the last change, Redis has them all.
  await waitFor(() => stateOf(two) === stateOf(one), { what: 'the other instance to agree' })

  let bytes = 0
  for (const key of await client.keys('gatehouse:*')) bytes += Number(await client.call('MEMORY', 'USAGE', key))
  t.ok(bytes < 4_000, `every fleet key together is ${bytes} bytes`)
  t.equal(Number(await client.get('gatehouse:fleet:version')), total, 'every change went through Redis')
  t.equal(await client.hlen('gatehouse:fleet:servers'), 2, 'one field per server changed')
  t.same((await client.keys('gatehouse:*')).sort(), ['gatehouse:fleet:servers', 'gatehouse:fleet:version'], 'no other key (no list, no log)')
})
