import t from 'tap'
import { call } from '../../helper'
import { startCached } from './support'

// RFC 9111 §4.3.4: a 304 to the cache's own conditional refreshes the stored response and
// keeps its fields, even when the 304 repeats no validator.

t.test("RFC 9111 §4.3.4: a client's If-Modified-Since against a stale entry is answered 304 after the backend's bare 304", async t => {
  const lastModified = new Date(Date.now() - 3_000_000).toUTCString()
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=2')
    if (req.headers['if-modified-since'] === lastModified) {
      // No Last-Modified repeated: RFC 9110 §15.4.5 only asks for the fields a 200 would have had.
      res.statusCode = 304
      res.end()
      return
    }
    res.setHeader('last-modified', lastModified)
    res.setHeader('x-stored', 'yes')
    res.end('body')
  })
  await call(`${gw.url}/lm`)
  gw.advance(3_000)
  const conditional = await call(`${gw.url}/lm`, { headers: { 'if-modified-since': lastModified } })
  t.equal(conditional.status, 304)
  t.equal(conditional.headers['x-cache'], 'REVALIDATED')
  t.equal(gw.backend.hits.length, 2)
  const hit = await call(`${gw.url}/lm`)
  t.equal(hit.headers['x-cache'], 'HIT')
  t.equal(hit.headers['last-modified'], lastModified, 'the stored fields were kept')
  t.equal(hit.headers['x-stored'], 'yes')
  t.equal(hit.body, 'body')
})
