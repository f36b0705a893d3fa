import t from 'tap'
import { startBackend, startGateway, call, spread, count } from '../../helper'
import type { GatehouseConfig } from '../../../lib/config'
import { setCookies, cookieOf, stickyExpiry } from '../../fixtures/cookies'
import { waitFor } from '../../wait'

const SECRET = 'sticky-test-secret-0123456789abcdef'

async function three (t: Parameters<typeof startBackend>[0]) {
  return [await startBackend(t, 'a'), await startBackend(t, 'b'), await startBackend(t, 'c')]
}

function config (urls: string[], sticky: Record<string, unknown> = { cookie: 'gh_sticky', ttl: 3_600_000, secure: false, httpOnly: true, sameSite: 'lax' }): GatehouseConfig {
  return {
    cookieSecret: SECRET,
    upstreams: {
      app: { servers: urls.map(url => ({ url })), sticky },
      plain: { servers: urls.map(url => ({ url })) }
    },
    routes: [
      { match: { path: '/plain/*' }, upstream: 'plain' },
      { match: { path: '/*' }, upstream: 'app' }
    ]
  } as GatehouseConfig
}

t.test('the first response sets the configured cookie; requests carrying it all reach one server', async t => {
  const backends = await three(t)
  const gw = await startGateway(t, config(backends.map(b => b.url)))

  const first = await call(`${gw.url}/x`)
  t.equal(first.status, 200)
  const lines = setCookies(first, 'gh_sticky')
  t.equal(lines.length, 1, 'exactly one cookie, named as configured')
  const attrs = lines[0].split(';').slice(1).map(s => s.trim().toLowerCase())
  t.ok(attrs.includes('httponly'), 'HttpOnly')
  t.ok(attrs.includes('samesite=lax'), 'SameSite=Lax')
  t.ok(attrs.includes('max-age=3600'), 'Max-Age is the ttl in seconds')
  t.ok(attrs.includes('path=/'), 'Path=/')
  t.notOk(attrs.includes('secure'), 'not Secure when secure is false')
  const cookie = cookieOf(first, 'gh_sticky')
  for (const b of backends) {
    t.notOk(cookie.includes(String(b.port)), 'the cookie does not reveal an address')
  }

  const chosen = first.headers['x-backend']
  const names: string[] = []
  for (let i = 0; i < 20; i++) {
    const res = await call(`${gw.url}/x`, { headers: { cookie } })
    t.equal(res.status, 200)
    t.same(setCookies(res, 'gh_sticky'), [], 'no new cookie while the server holds')
    names.push(String(res.headers['x-backend']))
  }
  t.same(count(names), { [String(chosen)]: 20 }, 'all 20 went to the first server')

  const spreadOut = count(await spread(`${gw.url}/x`, 30))
  t.same(Object.keys(spreadOut).sort(), ['a', 'b', 'c'], 'without the cookie, round robin spreads')
})

t.test('only sticky upstreams set a cookie', async t => {
  const backends = await three(t)
  const gw = await startGateway(t, config(backends.map(b => b.url)))
  const res = await call(`${gw.url}/plain/x`)
  t.equal(res.status, 200)
  t.equal(res.headers['set-cookie'], undefined)
})

t.test('the configured cookie name and attributes are used', async t => {
  const backends = await three(t)
  const gw = await startGateway(t, config(backends.map(b => b.url), { cookie: 'route_id', ttl: '2m', secure: true, httpOnly: false, sameSite: 'strict' }))
  const res = await call(`${gw.url}/x`)
  t.same(setCookies(res, 'gh_sticky'), [])
  const lines = setCookies(res, 'route_id')
  t.equal(lines.length, 1)
  const attrs = lines[0].split(';').slice(1).map(s => s.trim().toLowerCase())
  t.ok(attrs.includes('secure'))
  t.notOk(attrs.includes('httponly'))
  t.ok(attrs.includes('samesite=strict'))
  t.ok(attrs.includes('max-age=120'))
})

t.test('a cookie set by one instance is honoured by another sharing the secret', async t => {
  const backends = await three(t)
  const urls = backends.map(b => b.url)
  const gwA = await startGateway(t, config(urls))
  const gwB = await startGateway(t, config(urls))

  // Move B's round robin off A's choice, so that agreement cannot be a coincidence.
  const first = await call(`${gwA.url}/x`)
  const cookie = cookieOf(first, 'gh_sticky')
  await call(`${gwB.url}/x`)
  const names: string[] = []
  for (let i = 0; i < 10; i++) {
    const res = await call(`${gwB.url}/x`, { headers: { cookie } })
    t.same(setCookies(res, 'gh_sticky'), [])
    names.push(String(res.headers['x-backend']))
  }
  t.same(count(names), { [String(first.headers['x-backend'])]: 10 })
})

t.test('a restarted gateway still honours the cookies it set', async t => {
  const backends = await three(t)
  const urls = backends.map(b => b.url)
  const before = await startGateway(t, config(urls))
  await call(`${before.url}/x`)
  const res = await call(`${before.url}/x`)
  const cookie = cookieOf(res, 'gh_sticky')
  await before.app.close()

  const after = await startGateway(t, config(urls))
  const names = []
  for (let i = 0; i < 6; i++) names.push(String((await call(`${after.url}/x`, { headers: { cookie } })).headers['x-backend']))
  t.same(count(names), { [String(res.headers['x-backend'])]: 6 })
})

t.test('a cookie past half its life is renewed for the same server', async t => {
  const backends = await three(t)
  // Long enough that each step below has a second to spare on a busy machine.
  const ttl = 2000
  const gw = await startGateway(t, config(backends.map(b => b.url), { cookie: 'gh_sticky', ttl }))
  const first = await call(`${gw.url}/x`)
  const cookie = cookieOf(first, 'gh_sticky')

  const fresh = await call(`${gw.url}/x`, { headers: { cookie } })
  t.same(setCookies(fresh, 'gh_sticky'), [], 'young cookie: no renewal')

  // Until the cookie is past half its life, by the expiry it carries.
  await waitFor(() => stickyExpiry(cookie) - Date.now() < ttl / 2 - 20, { what: 'the cookie to pass half its life' })
  const old = await call(`${gw.url}/x`, { headers: { cookie } })
  t.equal(old.headers['x-backend'], first.headers['x-backend'], 'still the same server')
  const renewed = cookieOf(old, 'gh_sticky')
  t.not(renewed, cookie, 'a new cookie with a later expiry')

  await waitFor(() => Date.now() > stickyExpiry(cookie) + 20, { what: 'the first cookie to expire' })
  const later = await call(`${gw.url}/x`, { headers: { cookie: renewed } })
  t.equal(later.headers['x-backend'], first.headers['x-backend'], 'the renewed cookie outlives the first one')
})
