import t from 'tap'
import { call } from '../../helper'
import { answer, startCached } from './support'

// Each RFC 9111 rule on its own, through real sockets: the backend sets the fields, the test
// counts what reached it and reads x-cache.

t.test('max-age: a fresh response is a HIT, and after max-age a MISS (controlled clock)', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60' }))
  const first = await call(`${gw.url}/a?x=1`)
  t.equal(first.headers['x-cache'], 'MISS')
  const second = await call(`${gw.url}/a?x=1`)
  t.equal(second.headers['x-cache'], 'HIT')
  t.equal(second.body, 'hello')
  t.ok(second.headers['x-request-id'], 'each answer gets a request id')
  t.equal(gw.backend.hits.length, 1)
  gw.advance(61_000)
  const third = await call(`${gw.url}/a?x=1`)
  t.equal(third.headers['x-cache'], 'MISS')
  t.equal(gw.backend.hits.length, 2)
})

t.test('the query is part of the key', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60' }))
  await call(`${gw.url}/a?x=1`)
  const other = await call(`${gw.url}/a?x=2`)
  t.equal(other.headers['x-cache'], 'MISS')
  t.equal(gw.backend.hits.length, 2)
})

t.test('Age: a hit says how long it has been stored, counting the Age the backend sent', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60', age: '10' }))
  await call(`${gw.url}/a`)
  gw.advance(5_000)
  const hit = await call(`${gw.url}/a`)
  t.equal(hit.headers['x-cache'], 'HIT')
  t.equal(hit.headers.age, '15')
  gw.advance(46_000)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'MISS', 'Age counts towards max-age')
})

t.test('s-maxage wins over max-age in a shared cache', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=1, s-maxage=60' }))
  await call(`${gw.url}/a`)
  gw.advance(30_000)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'HIT')
})

t.test('Expires gives the lifetime when there is no max-age', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('date', new Date().toUTCString())
    res.setHeader('expires', new Date(Date.now() + 60_000).toUTCString())
    res.end('x')
  })
  await call(`${gw.url}/a`)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'HIT')
  gw.advance(70_000)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'MISS')
})

t.test('no-store is never stored', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'no-store, max-age=60' }))
  await call(`${gw.url}/a`)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'MISS')
  t.equal(gw.backend.hits.length, 2)
})

t.test('private is not stored by a shared cache', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'private, max-age=60' }))
  await call(`${gw.url}/a`)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'MISS')
})

t.test('no-cache is stored but revalidated every time', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'no-cache')
    res.setHeader('etag', '"v1"')
    if (req.headers['if-none-match'] === '"v1"') {
      res.statusCode = 304
      res.end()
      return
    }
    res.end('body v1')
  })
  await call(`${gw.url}/a`)
  const again = await call(`${gw.url}/a`)
  t.equal(again.headers['x-cache'], 'REVALIDATED')
  t.equal(again.body, 'body v1')
  t.equal(gw.backend.hits.length, 2)
  t.equal(gw.backend.hits[1].headers['if-none-match'], '"v1"')
})

t.test('must-revalidate: once stale it is not served stale, even with staleIfError', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=1, must-revalidate' }), { cache: { staleIfError: '10m' } })
  await call(`${gw.url}/a`)
  gw.advance(2_000)
  await gw.backend.kill()
  const res = await call(`${gw.url}/a`)
  t.equal(res.status, 502)
})

t.test('must-revalidate and proxy-revalidate: HITs while fresh, revalidated once stale', async t => {
  for (const directive of ['must-revalidate', 'proxy-revalidate']) {
    const gw = await startCached(t, (req, res) => {
      res.setHeader('cache-control', `max-age=10, ${directive}`)
      res.setHeader('etag', '"p"')
      if (req.headers['if-none-match'] === '"p"') {
        res.statusCode = 304
        res.end()
        return
      }
      res.end('x')
    })
    await call(`${gw.url}/a`)
    t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'HIT', `${directive}: fresh`)
    gw.advance(11_000)
    t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'REVALIDATED', `${directive}: stale`)
    t.equal(gw.backend.hits.length, 2)
  }
})

t.test('a request with Authorization is not stored unless the response says public or s-maxage', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', req.url === '/public' ? 'public, max-age=60' : 'max-age=60')
    res.end('x')
  })
  const auth = { authorization: 'Bearer a' }
  await call(`${gw.url}/plain`, { headers: auth })
  t.equal((await call(`${gw.url}/plain`, { headers: auth })).headers['x-cache'], 'MISS')
  await call(`${gw.url}/public`, { headers: auth })
  t.equal((await call(`${gw.url}/public`, { headers: auth })).headers['x-cache'], 'HIT')
})

t.test('Set-Cookie: not stored unless the response is explicitly public', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', req.url === '/public' ? 'public, max-age=60' : 'max-age=60')
    res.setHeader('set-cookie', 'session=abc')
    res.end('x')
  })
  await call(`${gw.url}/plain`)
  t.equal((await call(`${gw.url}/plain`)).headers['x-cache'], 'MISS')
  await call(`${gw.url}/public`)
  const hit = await call(`${gw.url}/public`)
  t.equal(hit.headers['x-cache'], 'HIT')
  t.equal(hit.headers['set-cookie'], 'session=abc')
})

t.test('only GET and HEAD: a POST is a BYPASS; a HEAD is answered from a stored GET', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60' }), { route: {} })
  const post = await call(`${gw.url}/a`, { method: 'POST', body: 'x' })
  t.equal(post.headers['x-cache'], 'BYPASS')
  await call(`${gw.url}/a`)
  const head = await call(`${gw.url}/a`, { method: 'HEAD' })
  t.equal(head.headers['x-cache'], 'HIT')
  t.equal(head.headers['content-length'], '5')
  t.equal(head.body, '')
  t.equal(gw.backend.hits.length, 2)
})

t.test('"cache": false on a route turns it off there', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60' }), { route: { cache: false } })
  await call(`${gw.url}/a`)
  const res = await call(`${gw.url}/a`)
  t.equal(res.headers['x-cache'], undefined)
  t.equal(gw.backend.hits.length, 2)
  t.equal(gw.cache, undefined, 'no route caches: no cache at all')
})

t.test('a hit does not need a server: served with every server down', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60' }))
  await call(`${gw.url}/a`)
  await gw.backend.kill()
  const res = await call(`${gw.url}/a`)
  t.equal(res.status, 200)
  t.equal(res.headers['x-cache'], 'HIT')
})
