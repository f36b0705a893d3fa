import t from 'tap'
import { startBackend, startGateway, call, type Reply } from '../../helper'
import { waitFor } from '../../wait'

const RATE_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after']

async function calls (url: string, n: number, headers?: Record<string, string>): Promise<Reply[]> {
  const out: Reply[] = []
  for (let i = 0; i < n; i++) out.push(await call(url, { headers }))
  return out
}

t.test('exactly max requests per appid pass; the next gets a JSON 429 that never reaches a backend', async t => {
  const api = await startBackend(t, 'api')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    rateLimit: { max: 3, timeWindow: 10_000 }
  })
  const allowed = await calls(`${gw.url}/x`, 3, { appid: 'alpha' })
  t.same(allowed.map(r => r.status), [200, 200, 200])
  t.same(allowed.map(r => r.headers['x-ratelimit-remaining']), ['2', '1', '0'], 'allowed answers count down')
  t.equal(allowed[0].headers['x-ratelimit-limit'], '3')
  t.ok(Number(allowed[0].headers['x-ratelimit-reset']) > 0, 'allowed answers say when the window resets')

  const refused = await call(`${gw.url}/x`, { headers: { appid: 'alpha' } })
  t.equal(refused.status, 429)
  for (const h of RATE_HEADERS) t.ok(refused.headers[h] !== undefined, `429 carries ${h}`)
  t.equal(refused.headers['x-ratelimit-limit'], '3')
  t.equal(refused.headers['x-ratelimit-remaining'], '0')
  t.equal(refused.headers['retry-after'], refused.headers['x-ratelimit-reset'])
  t.match(refused.headers['content-type'], /application\/json/)
  t.match(refused.json(), { statusCode: 429, error: 'Too Many Requests', code: 'GH_RATE_LIMITED', message: /^Rate limit exceeded/ })
  t.equal(api.hits.length, 3, 'the refused request never reached the backend')
})

t.test('appids have independent budgets', async t => {
  const api = await startBackend(t, 'api')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    rateLimit: { key: 'header:appid', max: 2, timeWindow: 10_000 }
  })
  t.same((await calls(`${gw.url}/`, 3, { appid: 'a' })).map(r => r.status), [200, 200, 429])
  t.same((await calls(`${gw.url}/`, 3, { appid: 'b' })).map(r => r.status), [200, 200, 429], 'b is not charged for a')
  t.equal(api.hits.length, 4)
})

t.test('the window resets: refused requests pass again once x-ratelimit-reset has elapsed', async t => {
  const api = await startBackend(t, 'api')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    // Under a second, and long enough for three requests to fit in one window on a busy machine.
    rateLimit: { max: 2, timeWindow: '800ms' }
  })
  const first = await calls(`${gw.url}/`, 3, { appid: 'w' })
  const refusedAt = Date.now()
  t.same(first.map(r => r.status), [200, 200, 429])
  const resetSeconds = Number(first[2].headers['x-ratelimit-reset'])
  t.equal(resetSeconds, 1, 'a sub-second window resets within the next second')
  // As a client would: wait for x-ratelimit-reset, counted from the refusal.
  await waitFor(() => Date.now() >= refusedAt + resetSeconds * 1000, { what: 'x-ratelimit-reset to elapse' })
  const again = await calls(`${gw.url}/`, 3, { appid: 'w' })
  t.same(again.map(r => r.status), [200, 200, 429], 'a fresh window with the full budget')
  t.equal(api.hits.length, 4)
})

t.test('a request without the key header is counted by client address', async t => {
  const api = await startBackend(t, 'api')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    rateLimit: { max: 2, timeWindow: 10_000 }
  })
  t.same((await calls(`${gw.url}/`, 3)).map(r => r.status), [200, 200, 429], 'leaving the header out does not escape the limit')
  t.same((await calls(`${gw.url}/`, 1, { appid: '' })).map(r => r.status), [429], 'an empty header counts as none')
  t.same((await calls(`${gw.url}/`, 2, { appid: '127.0.0.1' })).map(r => r.status), [200, 200],
    'an appid spelled like the address has a budget of its own')
  t.equal(api.hits.length, 4)
})

t.test('key "ip" ignores the appid header', async t => {
  const api = await startBackend(t, 'api')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    rateLimit: { key: 'ip', max: 2, timeWindow: 10_000 }
  })
  const statuses = [
    (await call(`${gw.url}/`, { headers: { appid: 'a' } })).status,
    (await call(`${gw.url}/`, { headers: { appid: 'b' } })).status,
    (await call(`${gw.url}/`, { headers: { appid: 'c' } })).status
  ]
  t.same(statuses, [200, 200, 429])
})

t.test('a route can have its own limit or none; the others share the global one', async t => {
  const api = await startBackend(t, 'api')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [
      { match: { path: '/strict/*' }, upstream: 'api', rateLimit: { max: 1 } },
      { match: { path: '/free/*' }, upstream: 'api', rateLimit: false },
      { match: { path: '/a/*' }, upstream: 'api' },
      { match: { path: '/b/*' }, upstream: 'api' }
    ],
    rateLimit: { max: 3, timeWindow: 10_000 }
  })
  const h = { appid: 'r' }
  t.same((await calls(`${gw.url}/strict/1`, 2, h)).map(r => r.status), [200, 429], 'the route override applies')
  const strict = await call(`${gw.url}/strict/1`, { headers: h })
  t.equal(strict.headers['x-ratelimit-limit'], '1')

  const free = await calls(`${gw.url}/free/1`, 10, h)
  t.ok(free.every(r => r.status === 200), 'rateLimit: false turns limiting off for the route')
  t.equal(free[0].headers['x-ratelimit-limit'], undefined, 'and adds no rate limit headers')

  const shared = [
    (await call(`${gw.url}/a/1`, { headers: h })).status,
    (await call(`${gw.url}/b/1`, { headers: h })).status,
    (await call(`${gw.url}/a/2`, { headers: h })).status,
    (await call(`${gw.url}/b/2`, { headers: h })).status
  ]
  t.same(shared, [200, 200, 200, 429], 'routes under the global limit draw on one budget, apart from the override')
})

t.test('a route limit applies even with no global limit; other routes are unlimited', async t => {
  const api = await startBackend(t, 'api')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [
      { match: { path: '/limited/*' }, upstream: 'api', rateLimit: { max: 2, timeWindow: 10_000 } },
      { match: { path: '/*' }, upstream: 'api' }
    ]
  })
  t.same((await calls(`${gw.url}/limited/x`, 3, { appid: 'n' })).map(r => r.status), [200, 200, 429])
  const open = await calls(`${gw.url}/other`, 5, { appid: 'n' })
  t.ok(open.every(r => r.status === 200))
  t.equal(open[0].headers['x-ratelimit-limit'], undefined)
})

t.test('no rate limit configured: no limit and no headers', async t => {
  const api = await startBackend(t, 'api')
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: api.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })
  const res = await call(`${gw.url}/`, { headers: { appid: 'x' } })
  t.equal(res.status, 200)
  t.equal(res.headers['x-ratelimit-limit'], undefined)
})
