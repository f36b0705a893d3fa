import t from 'tap'
import { waitFor } from '../../wait'
import { change, fleetSetup, privateRedis, serverOn, startLoggedGateway, stateOf, userFor } from './support'

t.test('three gateways, one cut off from Redis while two changes are made, converge within 1 s of its return', async t => {
  const { redis, client } = await privateRedis(t)
  const { b, config } = await fleetSetup(t)
  const one = await startLoggedGateway(t, config(redis.url))
  const two = await startLoggedGateway(t, config(redis.url))
  const user = await userFor(client, redis, 'third')
  const three = await startLoggedGateway(t, config(user.url))

  await user.cut()
  await waitFor(() => three.count(/^fleet sync: Redis is unavailable/) === 1, { what: 'the third to see Redis gone' })
  t.equal((await change(one, 'POST', '/upstreams/u/servers', { url: b.url, id: 'b' })).status, 201)
  t.equal((await change(two, 'PATCH', '/upstreams/u/servers/a', { state: 'drain' })).status, 200)
  await waitFor(() => stateOf(one) === stateOf(two) && serverOn(one, 'a')?.adminState === 'drain' && serverOn(two, 'b') !== undefined, { what: 'the two connected ones to agree' })
  t.equal(serverOn(three, 'b'), undefined, 'the cut-off one has not seen the add')
  t.equal(serverOn(three, 'a')?.adminState, 'ready', 'nor the drain')

  await user.restore()
  const took = await waitFor(() => stateOf(three) === stateOf(one), { what: 'the third to converge', timeout: 1000 })
  t.ok(took <= 1000, `converged ${took} ms after Redis let it back`)
  t.equal(stateOf(three), 'a:drain:1 b:ready:1 c:ready:1')
  t.equal(three.count(/^fleet sync: Redis is unavailable/), 1, 'the outage logged once')
  t.equal(three.count(/^fleet sync: Redis is back/), 1, 'its end once')
})

t.test('a change made on one instance while Redis restarted (empty) reaches the others within 1 s of its return', async t => {
  const { redis } = await privateRedis(t)
  const { config } = await fleetSetup(t)
  const one = await startLoggedGateway(t, config(redis.url))
  const two = await startLoggedGateway(t, config(redis.url))

  await redis.stop()
  await waitFor(() => one.count(/^fleet sync: Redis is unavailable/) === 1, { what: 'the outage seen' })
  t.equal((await change(one, 'PATCH', '/upstreams/u/servers/c', { weight: 4 })).status, 200, 'a change works locally meanwhile')
  t.equal(serverOn(two, 'c')?.weight, 1)

  await redis.start()
  const took = await waitFor(() => serverOn(two, 'c')?.weight === 4, { what: 'the change on the other', timeout: 1000 })
  t.ok(took <= 1000, `applied there ${took} ms after Redis came back`)
  t.equal(stateOf(one), stateOf(two))
})

t.test('a change announced while an instance re-subscribes is not lost', async t => {
  const { redis, client } = await privateRedis(t)
  const { config } = await fleetSetup(t)
  const one = await startLoggedGateway(t, config(redis.url))
  const user = await userFor(client, redis, 'second')
  const two = await startLoggedGateway(t, config(user.url))
  // Only the subscriber's connection, and the change at once: the announcement goes nowhere.
  await client.call('CLIENT', 'KILL', 'USER', 'second', 'TYPE', 'pubsub')
  t.equal((await change(one, 'PATCH', '/upstreams/u/servers/c', { state: 'maint' })).status, 200)
  await waitFor(() => serverOn(two, 'c')?.adminState === 'maint', { what: 'the change on the re-subscribed one', timeout: 1000 })
  t.equal(stateOf(one), stateOf(two))
})
