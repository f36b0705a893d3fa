import t from 'tap'
import { call } from '../../helper'
import { answer, startCached } from './support'

t.test("a client's If-None-Match matching the stored ETag gets a 304 from the cache", async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60', etag: '"v1"' }))
  await call(`${gw.url}/a`)
  const res = await call(`${gw.url}/a`, { headers: { 'if-none-match': 'W/"v1"' } })
  t.equal(res.status, 304)
  t.equal(res.headers['x-cache'], 'HIT')
  t.equal(res.headers.etag, '"v1"')
  t.equal(res.body, '')
  const other = await call(`${gw.url}/a`, { headers: { 'if-none-match': '"v0"' } })
  t.equal(other.status, 200, 'a different tag gets the body')
  t.equal(gw.backend.hits.length, 1)
})

t.test("a client's If-Modified-Since not before Last-Modified gets a 304 from the cache", async t => {
  const modified = new Date(Date.now() - 3_600_000).toUTCString()
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=60', 'last-modified': modified }))
  await call(`${gw.url}/a`)
  t.equal((await call(`${gw.url}/a`, { headers: { 'if-modified-since': new Date().toUTCString() } })).status, 304)
  t.equal((await call(`${gw.url}/a`, { headers: { 'if-modified-since': new Date(Date.now() - 7_200_000).toUTCString() } })).status, 200)
})

t.test('a stale entry is revalidated with its ETag; the backend 304 refreshes it', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=10')
    res.setHeader('etag', '"v1"')
    if (req.headers['if-none-match'] === '"v1"') {
      res.setHeader('x-refreshed', 'yes')
      res.statusCode = 304
      res.end()
      return
    }
    res.end('body v1')
  })
  await call(`${gw.url}/a`)
  gw.advance(11_000)
  const revalidated = await call(`${gw.url}/a`)
  t.equal(revalidated.status, 200)
  t.equal(revalidated.headers['x-cache'], 'REVALIDATED')
  t.equal(revalidated.body, 'body v1')
  t.equal(gw.backend.hits[1].headers['if-none-match'], '"v1"')
  const hit = await call(`${gw.url}/a`)
  t.equal(hit.headers['x-cache'], 'HIT', 'fresh again for another max-age')
  t.equal(gw.backend.hits.length, 2)
})

t.test('a stale entry with only Last-Modified is revalidated with If-Modified-Since', async t => {
  const modified = new Date(Date.now() - 3_600_000).toUTCString()
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=10')
    res.setHeader('last-modified', modified)
    if (req.headers['if-modified-since'] === modified) {
      res.statusCode = 304
      res.end()
      return
    }
    res.end('body')
  })
  await call(`${gw.url}/a`)
  gw.advance(11_000)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'REVALIDATED')
  t.equal(gw.backend.hits[1].headers['if-modified-since'], modified)
})

t.test('a changed resource on revalidation replaces the entry', async t => {
  let version = 1
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=10')
    res.setHeader('etag', `"v${version}"`)
    if (req.headers['if-none-match'] === `"v${version}"`) {
      res.statusCode = 304
      res.end()
      return
    }
    res.end(`body v${version}`)
  })
  await call(`${gw.url}/a`)
  version = 2
  gw.advance(11_000)
  const res = await call(`${gw.url}/a`)
  t.equal(res.headers['x-cache'], 'MISS')
  t.equal(res.body, 'body v2')
  t.equal((await call(`${gw.url}/a`)).body, 'body v2')
  t.equal(gw.backend.hits.length, 2)
})
