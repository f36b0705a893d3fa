import t from 'tap'
import { startBackend, startGateway, call } from '../helper'

const SECRET = 'a-test-secret-that-is-long-enough-0123456789'

t.test('rate limiting and sticky sessions together', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    cookieSecret: SECRET,
    rateLimit: { max: 3, timeWindow: '1m' },
    upstreams: { u: { sticky: {}, servers: [{ url: a.url }, { url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const first = await call(`${gw.url}/x`, { headers: { appid: 'together' } })
  t.equal(first.status, 200)
  const setCookie = String(first.headers['set-cookie'])
  t.match(setCookie, /^gh_sticky=/)
  t.equal(first.headers['x-ratelimit-limit'], '3')
  const cookie = setCookie.split(';')[0]
  const server = first.headers['x-backend']

  for (let i = 0; i < 2; i++) {
    const res = await call(`${gw.url}/x`, { headers: { appid: 'together', cookie } })
    t.equal(res.status, 200)
    t.equal(res.headers['x-backend'], server, 'sticks to its server')
    t.equal(res.headers['set-cookie'], undefined, 'no new cookie while it sticks')
  }
  const hits = a.hits.length + b.hits.length
  const limited = await call(`${gw.url}/x`, { headers: { appid: 'together', cookie } })
  t.equal(limited.status, 429)
  t.equal(limited.json().code, 'GH_RATE_LIMITED')
  t.equal(limited.headers['set-cookie'], undefined, 'a refused request gets no cookie')
  t.equal(a.hits.length + b.hits.length, hits, 'and reaches no backend')

  const other = await call(`${gw.url}/x`, { headers: { appid: 'someone-else', cookie } })
  t.equal(other.status, 200, 'another appid has its own budget')
  t.equal(other.headers['x-backend'], server)
})
