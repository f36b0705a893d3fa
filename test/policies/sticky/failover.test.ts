import t from 'tap'
import { startBackend, startGateway, call, count } from '../../helper'
import type { GatehouseConfig } from '../../../lib/config'
import { setCookies, cookieOf } from '../../fixtures/cookies'
import { waitFor } from '../../wait'

const SECRET = 'sticky-test-secret-0123456789abcdef'

function config (urls: string[], extra: Record<string, unknown> = {}): GatehouseConfig {
  return {
    cookieSecret: SECRET,
    upstreams: { app: { servers: urls.map((url, i) => ({ url, id: `s${i}` })), sticky: { cookie: 'gh_sticky' }, ...extra } },
    routes: [{ match: { path: '/*' }, upstream: 'app' }]
  } as GatehouseConfig
}

async function stickTo (url: string, cookie: string, n: number): Promise<Record<string, number>> {
  const names: string[] = []
  for (let i = 0; i < n; i++) names.push(String((await call(url, { headers: { cookie } })).headers['x-backend']))
  return count(names)
}

t.test('when the cookie\'s server dies, another answers, the cookie changes and then sticks', async t => {
  const backends = [await startBackend(t, 'a'), await startBackend(t, 'b'), await startBackend(t, 'c')]
  const gw = await startGateway(t, config(backends.map(b => b.url)))
  const first = await call(`${gw.url}/x`)
  const cookie = cookieOf(first)
  const dead = backends.find(b => b.name === first.headers['x-backend'])
  if (dead === undefined) throw new Error('no backend answered')
  await dead.kill()

  const moved = await call(`${gw.url}/x`, { headers: { cookie } })
  t.equal(moved.status, 200, 'failed over on connection refused')
  t.not(moved.headers['x-backend'], dead.name)
  const next = cookieOf(moved)
  t.not(next, cookie, 'the cookie now names the new server')

  t.same(await stickTo(`${gw.url}/x`, next, 10), { [String(moved.headers['x-backend'])]: 10 }, 'and sticks to it')
})

t.test('when the cookie\'s server is removed by a reload, the balancer picks another and rewrites the cookie', async t => {
  const backends = [await startBackend(t, 'a'), await startBackend(t, 'b')]
  const cfg = config(backends.map(b => b.url))
  const gw = await startGateway(t, cfg)
  const first = await call(`${gw.url}/x`)
  const cookie = cookieOf(first)
  const keep = backends.find(b => b.name !== first.headers['x-backend'])
  if (keep === undefined) throw new Error('no backend answered')

  const servers = (cfg.upstreams.app.servers as Array<{ url: string }>).filter(s => s.url === keep.url)
  gw.app.gatehouse.reload({ ...cfg, upstreams: { app: { ...cfg.upstreams.app, servers } } })
  const res = await call(`${gw.url}/x`, { headers: { cookie } })
  t.equal(res.status, 200)
  t.equal(res.headers['x-backend'], keep.name)
  t.not(cookieOf(res), cookie)
})

t.test('when the cookie\'s server is ejected, requests go elsewhere until it is back', async t => {
  const backends = [await startBackend(t, 'a'), await startBackend(t, 'b')]
  // Ejected long enough for the requests below to land inside the ejection on a busy machine.
  const gw = await startGateway(t, config(backends.map(b => b.url), { passive: { maxFails: 1, failTimeout: 1500 } }))
  const first = await call(`${gw.url}/x`)
  const cookie = cookieOf(first)
  const home = backends.find(b => b.name === first.headers['x-backend'])
  if (home === undefined) throw new Error('no backend answered')
  await home.kill()
  const away = await call(`${gw.url}/x`, { headers: { cookie } })
  t.equal(away.status, 200)
  t.not(away.headers['x-backend'], home.name)
  await home.restart()

  const during = await call(`${gw.url}/x`, { headers: { cookie } })
  t.not(during.headers['x-backend'], home.name, 'ejected: not preferred')
  t.equal(setCookies(during, 'gh_sticky').length, 1, 'and the cookie is rewritten')

  const server = gw.app.gatehouse.registry.get('app')?.backends.all().find(s => s.url === home.url)
  if (server === undefined) throw new Error('no server for home')
  await waitFor(() => server.ejectedUntil !== 0 && Date.now() > server.ejectedUntil, { what: 'the ejection to end' })
  const back = await call(`${gw.url}/x`, { headers: { cookie } })
  t.equal(back.headers['x-backend'], home.name, 'the old cookie works again once the server is back')
})

t.test('a gateway error with no server chosen sets no cookie', async t => {
  const a = await startBackend(t, 'a')
  const gw = await startGateway(t, config([a.url], { passive: { maxFails: 1, failTimeout: 60_000, maxEjectionPercent: 100 } }))
  const ok = await call(`${gw.url}/x`)
  const cookie = cookieOf(ok)
  await a.kill()

  const failed = await call(`${gw.url}/x`, { headers: { cookie } })
  t.equal(failed.status, 502, 'every server failed')
  t.same(setCookies(failed, 'gh_sticky'), [], 'no cookie naming a server that failed')

  const none = await call(`${gw.url}/x`)
  t.equal(none.status, 503, 'no server left')
  t.same(setCookies(none, 'gh_sticky'), [])
})
