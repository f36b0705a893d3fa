import t, { type Test } from 'tap'
import { Signer } from '@fastify/cookie'
import { startBackend, startGateway, call, count } from '../../helper'
import type { GatehouseConfig } from '../../../lib/config'
import { setCookies, stickyExpiry } from '../../fixtures/cookies'
import { waitFor } from '../../wait'

const SECRET = 'sticky-test-secret-0123456789abcdef'

function config (urls: string[], sticky: Record<string, unknown> = { cookie: 'gh_sticky' }): GatehouseConfig {
  return {
    cookieSecret: SECRET,
    upstreams: { app: { servers: urls.map(url => ({ url })), sticky } },
    routes: [{ match: { path: '/*' }, upstream: 'app' }]
  } as GatehouseConfig
}

/** Sends `cookie` n times; every answer must be a 200 with a fresh cookie. Returns who answered. */
async function ignored (t: Test, url: string, cookie: string, n = 6): Promise<Record<string, number>> {
  const names: string[] = []
  for (let i = 0; i < n; i++) {
    const res = await call(url, { headers: { cookie } })
    t.equal(res.status, 200)
    t.equal(setCookies(res, 'gh_sticky').length, 1, 'a fresh cookie')
    names.push(String(res.headers['x-backend']))
  }
  return count(names)
}

async function pair (t: Test) {
  return [await startBackend(t, 'a'), await startBackend(t, 'b')]
}

t.test('a tampered cookie is ignored: normal balancing and a new cookie', async t => {
  const backends = await pair(t)
  const gw = await startGateway(t, config(backends.map(b => b.url)))
  const first = await call(`${gw.url}/x`)
  const [name, value] = setCookies(first, 'gh_sticky')[0].split(';')[0].split('=')
  const flipped = (value[0] === 'A' ? 'B' : 'A') + value.slice(1)
  t.same(await ignored(t, `${gw.url}/x`, `${name}=${flipped}`), { a: 3, b: 3 })
  t.same(await ignored(t, `${gw.url}/x`, 'gh_sticky=garbage'), { a: 3, b: 3 })
  t.same(await ignored(t, `${gw.url}/x`, 'gh_sticky='), { a: 3, b: 3 })
  t.same(await ignored(t, `${gw.url}/x`, 'gh_sticky=%E0%A4%A'), { a: 3, b: 3 }, 'broken percent-encoding')
})

t.test('a validly signed cookie naming an unknown server is ignored', async t => {
  const backends = await pair(t)
  const gw = await startGateway(t, config(backends.map(b => b.url)))
  const expires = (Date.now() + 60_000).toString(36)
  const signed = new Signer(SECRET).sign(`notaserver00000.${expires}`)
  t.same(await ignored(t, `${gw.url}/x`, `gh_sticky=${encodeURIComponent(signed)}`), { a: 3, b: 3 })
  const noExpiry = new Signer(SECRET).sign('whatever')
  t.same(await ignored(t, `${gw.url}/x`, `gh_sticky=${encodeURIComponent(noExpiry)}`), { a: 3, b: 3 })
})

t.test('a cookie signed with another secret is ignored', async t => {
  const backends = await pair(t)
  const urls = backends.map(b => b.url)
  const other = await startGateway(t, { ...config(urls), cookieSecret: 'another-secret-another-secret-another' } as GatehouseConfig)
  const foreign = setCookies(await call(`${other.url}/x`), 'gh_sticky')[0].split(';')[0]
  const gw = await startGateway(t, config(urls))
  t.same(await ignored(t, `${gw.url}/x`, foreign), { a: 3, b: 3 })
})

t.test('an expired cookie is ignored even when the client still sends it', async t => {
  const backends = await pair(t)
  // Long enough to be honoured on a busy machine before it expires.
  const gw = await startGateway(t, config(backends.map(b => b.url), { cookie: 'gh_sticky', ttl: 1000 }))
  const first = await call(`${gw.url}/x`)
  const cookie = setCookies(first, 'gh_sticky')[0].split(';')[0]
  const held = await call(`${gw.url}/x`, { headers: { cookie } })
  t.equal(held.headers['x-backend'], first.headers['x-backend'], 'honoured while fresh')

  await waitFor(() => Date.now() > stickyExpiry(cookie) + 20, { what: 'the cookie to expire' })
  t.same(await ignored(t, `${gw.url}/x`, cookie), { a: 3, b: 3 })
})
