import t from 'tap'
import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import { startBackend, startGateway, call } from '../../helper'
import { requireSharedRedis } from '../../redis'
import type { GatehouseConfig } from '../../../lib/config'

// Counters outlive a run in the shared Redis: a fresh appid per test keeps runs apart.
const appid = () => `test-${randomUUID()}`

t.test('two instances sharing Redis enforce one combined limit', async t => {
  const redisUrl = await requireSharedRedis()
  const api = await startBackend(t, 'api')
  const config: GatehouseConfig = {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    rateLimit: { max: 4, timeWindow: 10_000, redis: redisUrl }
  }
  const a = await startGateway(t, config)
  const b = await startGateway(t, config)
  const id = appid()
  const statuses: number[] = []
  for (const gw of [a, b, a, b, a, b]) statuses.push((await call(`${gw.url}/`, { headers: { appid: id } })).status)
  t.same(statuses, [200, 200, 200, 200, 429, 429], 'four in all, not four each')
  t.equal(api.hits.length, 4, 'refused requests never reached the backend')

  const refused = await call(`${b.url}/`, { headers: { appid: id } })
  t.equal(refused.status, 429)
  t.equal(refused.headers['x-ratelimit-limit'], '4')
  t.equal(refused.headers['x-ratelimit-remaining'], '0')
  t.ok(Number(refused.headers['retry-after']) > 0)
  t.match(refused.json(), { statusCode: 429, error: 'Too Many Requests', code: 'GH_RATE_LIMITED' })

  const other = await call(`${a.url}/`, { headers: { appid: appid() } })
  t.equal(other.status, 200, 'another appid is unaffected')
})

t.test('counters live under the gatehouse namespace and expire with the window', async t => {
  const redisUrl = await requireSharedRedis()
  const api = await startBackend(t, 'api')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [
      { match: { path: '/own/*' }, upstream: 'api', rateLimit: { max: 1 } },
      { match: { path: '/*' }, upstream: 'api' }
    ],
    rateLimit: { max: 5, timeWindow: 10_000, redis: redisUrl }
  })
  const id = appid()
  await call(`${gw.url}/x`, { headers: { appid: id } })
  await call(`${gw.url}/own/x`, { headers: { appid: id } })
  t.equal((await call(`${gw.url}/own/x`, { headers: { appid: id } })).status, 429, 'the route override is enforced through Redis')
  t.equal((await call(`${gw.url}/x`, { headers: { appid: id } })).status, 200, 'and counts apart from the global budget')

  const redis = new Redis(redisUrl)
  t.teardown(() => redis.quit())
  const global = `gatehouse:rl:global:appid:${id}`
  const route = `gatehouse:rl:route:0:appid:${id}`
  t.equal(await redis.get(global), '2')
  t.equal(await redis.get(route), '2')
  const ttl = await redis.pttl(global)
  t.ok(ttl > 0 && ttl <= 10_000, 'the key expires with the window')
})
