import t from 'tap'
import { call } from '../../helper'
import { answer, startCached } from './support'

// RFC 9111 §3.4 / RFC 9110 §14: a Range is answered from a stored complete response.

t.test('RFC 9110 §14.1.2: a single byte range is served 206 from a stored 200, with Content-Range', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=3600', etag: '"e"' }, '0123456789'))
  await call(`${gw.url}/r`)
  for (const [range, text, contentRange] of [['bytes=0-1', '01', 'bytes 0-1/10'], ['bytes=7-', '789', 'bytes 7-9/10'], ['bytes=-2', '89', 'bytes 8-9/10'], ['bytes=5-99', '56789', 'bytes 5-9/10']]) {
    const part = await call(`${gw.url}/r`, { headers: { range } })
    t.equal(part.status, 206, range)
    t.equal(part.body, text, range)
    t.equal(part.headers['content-range'], contentRange, range)
    t.equal(part.headers['content-length'], String(text.length), range)
    t.equal(part.headers['x-cache'], 'HIT', range)
  }
  t.equal(gw.backend.hits.length, 1, 'no range reached the backend')
})

t.test('RFC 9110 §15.5.17: a range past the end is 416 with the length', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=3600' }, '0123456789'))
  await call(`${gw.url}/r`)
  const refused = await call(`${gw.url}/r`, { headers: { range: 'bytes=10-' } })
  t.equal(refused.status, 416)
  t.equal(refused.headers['content-range'], 'bytes */10')
})

t.test('RFC 9110 §14.2: several ranges, or a malformed one, get the whole 200', async t => {
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=3600' }, '0123456789'))
  await call(`${gw.url}/r`)
  for (const range of ['bytes=0-1, 4-5', 'bytes=5-2', 'items=0-1']) {
    const whole = await call(`${gw.url}/r`, { headers: { range } })
    t.equal(whole.status, 200, range)
    t.equal(whole.body, '0123456789', range)
  }
})

t.test('a Range with nothing fresh stored goes to the backend and is not stored', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=3600')
    if (req.headers.range !== undefined) {
      res.statusCode = 206
      res.setHeader('content-range', 'bytes 0-1/10')
      res.end('01')
      return
    }
    res.end('0123456789')
  })
  const part = await call(`${gw.url}/r`, { headers: { range: 'bytes=0-1' } })
  t.equal(part.status, 206)
  t.equal(part.headers['x-cache'], 'BYPASS')
  const whole = await call(`${gw.url}/r`)
  t.equal(whole.headers['x-cache'], 'MISS', 'the 206 was not stored')
  t.equal(whole.body, '0123456789')
})
