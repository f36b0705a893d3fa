import t from 'tap'
import { startBackend, startGateway, startLoggedGateway, call, count } from '../helper'
import { admin, TOKEN } from '../ops/admin-client'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { normalizeConfig, type GatehouseConfig } from '../../lib/config'
import { ROOT } from '../readme'
import { waitFor } from '../wait'

const SECRET = 'a-cookie-secret-that-is-long-enough-123'

/** Which backend answered each of `n` requests, `parallel` at a time. */
async function spreadParallel (url: string, n: number, parallel = 16): Promise<string[]> {
  const out: string[] = []
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) {
      next++
      out.push(String((await call(url)).headers['x-backend']))
    }
  }))
  return out
}

/** The name=value of each Set-Cookie of an answer. */
function cookiesOf (headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const raw = headers['set-cookie']
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
  return Object.fromEntries(list.map(c => c.split(';')[0]).map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
}

const splitConfig = (v1: string, v2: string, weights: [number, number], extra: Partial<GatehouseConfig> = {}): GatehouseConfig => ({
  upstreams: { v1: { servers: [{ url: v1 }] }, v2: { servers: [{ url: v2 }] } },
  routes: [
    { match: { path: '/one' }, upstream: 'v1' },
    { match: { path: '/*' }, upstream: [{ name: 'v1', weight: weights[0] }, { name: 'v2', weight: weights[1] }] }
  ],
  ...extra
})

t.test('a 95/5 split over 2 000 requests lands within 3 points of 5 %', async t => {
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const gw = await startGateway(t, splitConfig(v1.url, v2.url, [95, 5]))
  const got = count(await spreadParallel(`${gw.url}/x`, 2000))
  t.equal((got.v1 ?? 0) + (got.v2 ?? 0), 2000, 'every request answered by one of the two')
  // Weighted random: v2's count is Binomial(2000, 0.05), mean 100. Outside [40, 160] (±3 points)
  // with probability 4.7e-9 (exact binomial sum), so this cannot flake in practice.
  t.ok(got.v2 >= 40 && got.v2 <= 160, `v2 had ${got.v2} of 2000 (expected 100)`)
  t.same(count(await spreadParallel(`${gw.url}/one`, 20)), { v1: 20 }, 'a route with one upstream is untouched')
  t.equal(v2.hits.filter(h => h.url === '/one').length, 0)
})

t.test('weights of 0: that group gets nothing; a split route needs no cookie secret', async t => {
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const gw = await startGateway(t, splitConfig(v1.url, v2.url, [0, 1]))
  t.same(count(await spreadParallel(`${gw.url}/x`, 50)), { v2: 50 })
  const res = await call(`${gw.url}/x`)
  t.equal(res.headers['set-cookie'], undefined, 'no sticky group: no cookie')
})

t.test('a sticky client stays on its group for its session; a weight of 0 moves it; a bad cookie is ignored', async t => {
  const v1 = await startBackend(t, 'v1')
  const v1b = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const v2b = await startBackend(t, 'v2')
  const gw = await startGateway(t, {
    cookieSecret: SECRET,
    admin: { port: 0, token: TOKEN },
    upstreams: {
      v1: { servers: [{ url: v1.url, id: 'a' }, { url: v1b.url, id: 'b' }], sticky: { cookie: 'gh_v1' } },
      v2: { servers: [{ url: v2.url, id: 'a' }, { url: v2b.url, id: 'b' }], sticky: { cookie: 'gh_v2', ttl: '10m' } }
    },
    routes: [{ match: { path: '/*' }, upstream: [{ name: 'v1', weight: 50 }, { name: 'v2', weight: 50 }] }]
  })
  // Clients with no cookie spread; each keeps its cookies and stays, server included.
  const seen = new Set<string>()
  for (let client = 0; client < 12; client++) {
    const first = await call(`${gw.url}/x`)
    const group = String(first.headers['x-backend'])
    seen.add(group)
    const cookies = cookiesOf(first.headers)
    t.ok(cookies.gh_split_0 !== undefined, 'a group cookie')
    t.ok(cookies[`gh_${group}`] !== undefined, 'and the group\'s own sticky cookie')
    const jar = Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ')
    const answers = new Set<string>()
    const hitsBefore = [v1, v1b, v2, v2b].map(b => b.hits.length)
    for (let i = 0; i < 20; i++) {
      const res = await call(`${gw.url}/x`, { headers: { cookie: jar } })
      answers.add(String(res.headers['x-backend']))
      t.equal(res.headers['set-cookie'], undefined, 'a fresh cookie is not set again')
    }
    t.same([...answers], [group], `client ${client} stayed on ${group}`)
    const moved = [v1, v1b, v2, v2b].map((b, i) => b.hits.length - hitsBefore[i]).filter(n => n > 0)
    t.same(moved, [20], 'on one server of it')
    const last = [v1, v1b, v2, v2b].flatMap(b => b.hits).at(-1)
    t.notMatch(String(last?.headers.cookie), /gh_split_0/, 'the group cookie is not sent to the backend')
  }
  t.same([...seen].sort(), ['v1', 'v2'], 'new clients went to both groups')

  // A client on v2, then v2 set to 0: it moves to v1 at its next request and gets a new cookie.
  let onV2: string | undefined
  for (let i = 0; i < 60 && onV2 === undefined; i++) {
    const res = await call(`${gw.url}/x`)
    if (res.headers['x-backend'] === 'v2') onV2 = `gh_split_0=${cookiesOf(res.headers).gh_split_0}`
  }
  t.ok(onV2 !== undefined, 'a client landed on v2')
  const patched = await admin(gw.app.gatehouse.adminUrl as string, 'PATCH', '/routes/0/split', { token: TOKEN, body: { weights: { v2: 0 } } })
  t.equal(patched.status, 200)
  const moved = await call(`${gw.url}/x`, { headers: { cookie: onV2 as string } })
  t.equal(moved.headers['x-backend'], 'v1', 'a group at weight 0 takes no one, its old clients neither')
  t.ok(cookiesOf(moved.headers).gh_split_0 !== undefined, 'the client gets a cookie for its new group')

  const tampered = await call(`${gw.url}/x`, { headers: { cookie: 'gh_split_0=nonsense.123.abc' } })
  t.equal(tampered.status, 200, 'a tampered cookie is ignored, never an error')
  t.equal(tampered.headers['x-backend'], 'v1')
})

t.test('weights change through the admin API at once, GET /config and GET /routes show them, the API is guarded', async t => {
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const gw = await startLoggedGateway(t, splitConfig(v1.url, v2.url, [100, 0], { admin: { port: 0, token: TOKEN } }))
  const url = gw.app.gatehouse.adminUrl as string
  t.same(count(await spreadParallel(`${gw.url}/x`, 20)), { v1: 20 })

  t.equal((await admin(url, 'PATCH', '/routes/1/split', { body: { weights: { v1: 0, v2: 1 } } })).status, 401, 'no token: refused')
  t.same(count(await spreadParallel(`${gw.url}/x`, 10)), { v1: 10 }, 'nothing changed')

  const res = await admin(url, 'PATCH', '/routes/1/split', { token: TOKEN, body: { weights: { v1: 0, v2: 1 } } })
  t.equal(res.status, 200)
  t.same(res.json(), { index: 1, path: '/*', split: [{ name: 'v1', weight: 0, percent: 0 }, { name: 'v2', weight: 1, percent: 100 }] })
  t.same(count(await spreadParallel(`${gw.url}/x`, 20)), { v2: 20 }, 'the next requests follow the new weights')
  const line = gw.logs.find(l => l.msg === 'admin change' && l.change?.route === 1)
  t.match(line?.change, { by: '127.0.0.1', before: [{ name: 'v1', weight: 100 }, { name: 'v2', weight: 0 }], after: [{ name: 'v1', weight: 0 }, { name: 'v2', weight: 1 }] }, 'logged with who, before and after')

  const config = (await admin(url, 'GET', '/config', { token: TOKEN })).json()
  t.same(config.routes[1].upstream, [{ name: 'v1', weight: 0 }, { name: 'v2', weight: 1 }], 'GET /config exports the weights in force')
  t.same(config.routes[0].upstream, 'v1')
  const routes = (await admin(url, 'GET', '/routes', { token: TOKEN })).json()
  t.same(routes.routes[1].split, [{ name: 'v1', weight: 0, percent: 0 }, { name: 'v2', weight: 1, percent: 100 }])

  const bad = async (path: string, body: unknown): Promise<[number, string]> => {
    const r = await admin(url, 'PATCH', path, { token: TOKEN, body })
    return [r.status, String(r.json().message)]
  }
  t.match(await bad('/routes/1/split', { weights: { v3: 1 } }), [400, /weights\.v3: not a group of this route/])
  t.match(await bad('/routes/1/split', { weights: { v2: 0 } }), [400, /at least one weight must be above 0/])
  t.match(await bad('/routes/1/split', { weights: { v1: -1 } }), [400, /weights\.v1: an integer/])
  t.match(await bad('/routes/1/split', { weights: { v1: 1.5 } }), [400, /weights\.v1: an integer/])
  t.match(await bad('/routes/1/split', { v1: 1 }), [400, /the body is/])
  t.match(await bad('/routes/0/split', { weights: { v1: 1 } }), [409, /sends to one upstream/])
  t.match(await bad('/routes/7/split', { weights: { v1: 1 } }), [404, /No route 7/])
  t.match(await bad('/routes/x/split', { weights: { v1: 1 } }), [404, /No route x/])
  t.same(count(await spreadParallel(`${gw.url}/x`, 10)), { v2: 10 }, 'refused changes changed nothing')

  // A reload makes the file the truth again, without a restart.
  const summary = gw.app.gatehouse.reload(splitConfig(v1.url, v2.url, [1, 0], { admin: { port: 0, token: TOKEN } }))
  t.equal(summary.routesChanged, false, 'a change of weights is no change of the route table')
  t.same(count(await spreadParallel(`${gw.url}/x`, 20)), { v1: 20 }, 'the reload\'s weights apply at once')
  t.same((await admin(url, 'GET', '/config', { token: TOKEN })).json().routes[1].upstream, [{ name: 'v1', weight: 1 }, { name: 'v2', weight: 0 }])
})

t.test('a bad split fails at start naming its JSON path', async t => {
  const problem = (upstream: unknown): string => {
    try {
      normalizeConfig({ upstreams: { v1: { servers: [{ url: 'http://127.0.0.1:9' }] }, v2: { servers: [{ url: 'http://127.0.0.1:9' }] } }, routes: [{ match: { path: '/' }, upstream: 'v1' }, { match: { path: '/x' }, upstream }] })
    } catch (err) {
      return (err as Error).message
    }
    return 'accepted'
  }
  t.match(problem([{ name: 'v1', weight: 1 }, { name: 'v3', weight: 1 }]), /routes\[1\]\.upstream\[1\]\.name: unknown upstream "v3"/)
  t.match(problem([{ name: 'v1', weight: 0 }, { name: 'v2', weight: 0 }]), /routes\[1\]\.upstream: at least one weight must be above 0/)
  t.match(problem([{ name: 'v1', weight: 1 }, { name: 'v1', weight: 2 }]), /routes\[1\]\.upstream\[1\]\.name: "v1" is listed twice/)
  t.match(problem([{ name: 'v1', weight: -1 }]), /routes\[1\]\.upstream/)
  t.match(problem([{ name: 'v1', weight: 1.5 }]), /routes\[1\]\.upstream/)
  t.match(problem([{ name: 'v1' }]), /routes\[1\]\.upstream/)
  t.match(problem([]), /routes\[1\]\.upstream/)
  t.equal(problem([{ name: 'v1', weight: 95 }, { name: 'v2', weight: 5 }]), 'accepted')
})

t.test('a cached split route keeps each group\'s answers apart', async t => {
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  for (const b of [v1, v2]) {
    b.handle((req, res, backend) => {
      res.setHeader('cache-control', 'max-age=60')
      res.setHeader('x-backend', backend.name)
      res.end(backend.name)
    })
  }
  const gw = await startGateway(t, splitConfig(v1.url, v2.url, [1, 0], { admin: { port: 0, token: TOKEN }, cache: {} }))
  t.equal((await call(`${gw.url}/page`)).headers['x-cache'], 'MISS')
  const hit = await call(`${gw.url}/page`)
  t.equal(hit.headers['x-cache'], 'HIT')
  t.equal(hit.body, 'v1')
  await admin(gw.app.gatehouse.adminUrl as string, 'PATCH', '/routes/1/split', { token: TOKEN, body: { weights: { v1: 0, v2: 1 } } })
  const moved = await call(`${gw.url}/page`)
  t.equal(moved.body, 'v2', 'the group now chosen answers, not the other group\'s stored answer')
  t.equal(moved.headers['x-cache'], 'MISS')
})

t.test('the README\'s split example loads', async t => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Canary releases\n'))
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)\n```/g)].map(m => m[1])
  const config = normalizeConfig(JSON.parse(blocks[1]))
  t.same(config.routes[0].split, [{ name: 'v1', weight: 95 }, { name: 'v2', weight: 5 }])
})

t.test('the access line names the group the split chose, not the first listed', async t => {
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const gw = await startLoggedGateway(t, splitConfig(v1.url, v2.url, [0, 1]))
  t.equal((await call(`${gw.url}/x`)).headers['x-backend'], 'v2')
  await waitFor(() => gw.logs.some(l => l.msg === 'proxied'), { what: 'the access line' })
  const line = gw.logs.find(l => l.msg === 'proxied') as Record<string, unknown>
  t.equal(line.upstream, 'v2')
  t.match(String(line.server), /^127\.0\.0\.1:/)
})
