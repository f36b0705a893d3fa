import t from 'tap'
import { startBackend, startLoggedGateway, call } from '../../helper'
import { sleep, waitFor } from '../../wait'
import { startRedis } from '../../redis'

const OUTAGE = /Redis is unavailable/
const RECOVERY = /Redis is available again/

async function statuses (url: string, n: number, appid: string): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await call(url, { headers: { appid } })).status)
  return out
}

t.test('Redis dies: requests are proxied unlimited, the outage is logged once; it returns: limiting resumes', async t => {
  const redis = await startRedis(t)
  const api = await startBackend(t, 'api')
  const gw = await startLoggedGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    rateLimit: { max: 3, timeWindow: 10_000, redis: redis.url }
  })
  t.same(await statuses(gw.url, 4, 'o'), [200, 200, 200, 429], 'limited while Redis is up')

  await redis.stop()
  const during = await statuses(gw.url, 6, 'o')
  t.same(during, [200, 200, 200, 200, 200, 200], 'fail-open: every request is proxied')
  t.equal(api.hits.length, 9, 'and reaches the backend')
  // Give the client time to fail a few reconnects: those must not be logged again.
  await sleep(300)
  t.equal(gw.count(OUTAGE), 1, 'the outage is logged once')
  const outage = gw.logs.find(l => OUTAGE.test(l.msg))
  t.equal(outage?.level, 50, 'as an error')
  t.match(outage?.msg, /let through unlimited/)

  await redis.start()
  await waitFor(() => gw.count(RECOVERY) > 0, { what: 'the recovery log line' })
  t.same(await statuses(gw.url, 4, 'o'), [200, 200, 200, 429], 'limiting works again (the new Redis starts empty)')
  t.equal(gw.count(RECOVERY), 1, 'the recovery is logged once')
  t.equal(gw.count(OUTAGE), 1, 'with no further outage lines')
})

t.test('failClosed: 503 JSON while Redis is down, never reaching a backend; served again once it returns', async t => {
  const redis = await startRedis(t)
  const api = await startBackend(t, 'api')
  const gw = await startLoggedGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    rateLimit: { max: 10, timeWindow: 10_000, redis: redis.url, failClosed: true }
  })
  t.equal((await call(gw.url, { headers: { appid: 'c' } })).status, 200)

  await redis.stop()
  for (let i = 0; i < 3; i++) {
    const res = await call(gw.url, { headers: { appid: 'c' } })
    t.equal(res.status, 503)
    t.match(res.json(), { statusCode: 503, error: 'Service Unavailable', code: 'GH_RATE_LIMIT_UNAVAILABLE' })
  }
  t.equal(api.hits.length, 1, 'no refused request reached the backend')
  t.equal(gw.count(OUTAGE), 1)
  t.match(gw.logs.find(l => OUTAGE.test(l.msg))?.msg, /refused with 503/)

  await redis.start()
  await waitFor(() => gw.count(RECOVERY) > 0, { what: 'the recovery log line' })
  t.equal((await call(gw.url, { headers: { appid: 'c' } })).status, 200)
})

t.test('Redis down at start: the gateway starts, proxies, and limits once Redis comes up', async t => {
  const redis = await startRedis(t)
  await redis.stop()
  const api = await startBackend(t, 'api')
  const started = Date.now()
  const gw = await startLoggedGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    rateLimit: { max: 2, timeWindow: 10_000, redis: redis.url }
  })
  t.ok(Date.now() - started < 2_500, 'start does not wait long for Redis')
  t.same(await statuses(gw.url, 3, 's'), [200, 200, 200], 'fail-open')
  t.equal(gw.count(OUTAGE), 1)

  await redis.start()
  await waitFor(() => gw.count(RECOVERY) > 0, { what: 'the recovery log line' })
  t.same(await statuses(gw.url, 3, 's'), [200, 200, 429])
})
