import t from 'tap'
import { createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import { call } from '../../helper'
import { waitFor } from '../../wait'
import { change, fleetSetup, privateRedis, startLoggedGateway, stateOf } from './support'

t.test('Redis down: every instance keeps serving with its current state, the outage logged once, not once per retry', async t => {
  const { redis } = await privateRedis(t)
  const { config } = await fleetSetup(t)
  const one = await startLoggedGateway(t, config(redis.url))
  const two = await startLoggedGateway(t, config(redis.url))
  t.equal((await change(one, 'PATCH', '/upstreams/u/servers/a', { state: 'drain' })).status, 200)
  await waitFor(() => stateOf(two) === 'a:drain:1 c:ready:1', { what: 'the drain everywhere' })

  await redis.stop()
  // Where Redis was, something that takes each reconnect attempt and drops it: countable retries.
  const attempts: Socket[] = []
  const fake = createServer(socket => { attempts.push(socket); socket.destroy() })
  fake.listen(redis.port, '127.0.0.1')
  await once(fake, 'listening')
  t.teardown(() => fake.close())

  await waitFor(() => attempts.length >= 8, { what: 'several reconnect attempts of each instance' })
  for (const gw of [one, two]) {
    t.equal(gw.count(/^fleet sync: Redis is unavailable/), 1, 'logged once')
    t.equal(stateOf(gw), 'a:drain:1 c:ready:1', 'the state kept')
    for (let i = 0; i < 4; i++) {
      const res = await call(`${gw.url}/x`)
      t.equal(res.status, 200, 'still serving')
      t.equal(res.headers['x-backend'], 'c', 'on its current state: the drained server takes nothing')
    }
  }
  t.equal((await change(two, 'PATCH', '/upstreams/u/servers/c', { weight: 3 })).status, 200, 'changes still work locally')

  // A starter meanwhile starts on the file's state, within its one-second wait for Redis.
  const three = await startLoggedGateway(t, config(redis.url))
  t.equal((await call(`${three.url}/x`)).status, 200, 'a starter serves while Redis is down')
  t.equal(three.count(/^fleet sync: Redis is unavailable/), 1)

  // Redis back (empty: no persistence): the change kept on two is written, and every instance takes it.
  await new Promise(resolve => fake.close(resolve))
  await redis.start()
  await waitFor(() => [one, two, three].every(gw => stateOf(gw).includes('c:ready:3')), { what: 'the change made during the outage everywhere', timeout: 1000 })
  t.equal(stateOf(one), 'a:drain:1 c:ready:3', 'the instances that were running keep the drain')
  t.equal(stateOf(three), 'a:ready:1 c:ready:3', 'the starter has only what Redis holds: the drain was lost with the empty Redis')
})
