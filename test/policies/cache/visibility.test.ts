import t from 'tap'
import { call } from '../../helper'
import { answer, startCached } from './support'
import { setCookies } from '../../fixtures/cookies'

async function withAdmin (t: { teardown (fn: () => unknown): void }) {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.end(`at ${req.url}`)
  }, { admin: { port: 0, token: TOKEN } })
  return { backend: gw.backend, gw, admin: gw.app.gatehouse.adminUrl as string }
}
const TOKEN = 'a-token-of-sixteen-chars'
const AUTH = { authorization: `Bearer ${TOKEN}` }

t.test('gatehouse_cache_total counts each result per upstream', async t => {
  const { gw, admin } = await withAdmin(t)
  await call(`${gw.url}/a`)
  await call(`${gw.url}/a`)
  await call(`${gw.url}/a`)
  await call(`${gw.url}/a`, { method: 'POST' })
  const text = (await call(`${admin}/metrics`, { headers: AUTH })).body
  t.match(text, /gatehouse_cache_total\{upstream="u",result="hit"\} 2/)
  t.match(text, /gatehouse_cache_total\{upstream="u",result="miss"\} 1/)
  t.match(text, /gatehouse_cache_total\{upstream="u",result="bypass"\} 1/)
})

t.test('DELETE /cache purges one URL, or a prefix, on the admin API', async t => {
  const { gw, admin } = await withAdmin(t)
  for (const p of ['/static/a.css', '/static/b.css', '/page?x=1']) await call(`${gw.url}${p}`, { headers: { host: 'example.com' } })
  const url = `${admin}/cache?url=${encodeURIComponent('http://example.com/page?x=1')}`
  t.equal((await call(url, { method: 'DELETE' })).status, 401, 'a purge is a write: it needs the admin token')
  const one = await call(url, { method: 'DELETE', headers: AUTH })
  t.same(one.json(), { purged: 1 })
  const many = await call(`${admin}/cache`, { method: 'DELETE', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ prefix: '/static/' }) })
  t.same(many.json(), { purged: 2 })
  t.equal((await call(`${gw.url}/static/a.css`, { headers: { host: 'example.com' } })).headers['x-cache'], 'MISS')
  t.equal((await call(`${admin}/cache`, { method: 'DELETE', headers: AUTH })).status, 400)
})

t.test('a rate-limited request gets its 429 and never reads the cache', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60' }, 'x'), { rateLimit: { key: 'ip', max: 2, timeWindow: 60_000 } })
  await call(`${gw.url}/a`)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'HIT')
  const limited = await call(`${gw.url}/a`)
  t.equal(limited.status, 429)
  t.equal(limited.headers['x-cache'], undefined)
})

t.test('sticky cookies are not stored in cached answers', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60' }, 'x'), { cookieSecret: 'a'.repeat(32), upstream: { sticky: {} } })
  const first = await call(`${gw.url}/a`)
  t.equal(setCookies(first, 'gh_sticky').length, 1, 'the proxied answer sets it')
  const hit = await call(`${gw.url}/a`)
  t.equal(hit.headers['x-cache'], 'HIT')
  t.equal(hit.headers['set-cookie'], undefined)
})
