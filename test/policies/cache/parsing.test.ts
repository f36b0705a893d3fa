import t from 'tap'

type Test = { teardown (fn: () => unknown): void }
import { call } from '../../helper'
import { answer, startCached } from './support'

// How the cache reads a response's freshness fields, where http-cache-semantics alone reads
// them too leniently: each case through real sockets, a second request telling HIT from MISS.

async function twice (t: Test, headers: Record<string, string>, status = 200): Promise<string> {
  const gw = await startCached(t, (req, res) => {
    res.statusCode = status
    answer(headers)(req, res)
  })
  await call(`${gw.url}/a`)
  return String((await call(`${gw.url}/a`)).headers['x-cache'])
}

t.test('RFC 9111 §5.3 / RFC 9110 §5.6.7: an Expires that is not an HTTP-date is in the past', async t => {
  const future = 'Thu, 18 Aug 2050 02:01:18'
  for (const bad of [`${future} UTC`, 'Thu 18 Aug 2050 02:01:18 GMT', 'Thu, 18  Aug  2050 02:01:18 GMT', 'Thu, 18-Aug-2050 02:01:18 GMT', 'Thu, 18 Aug 2050 2:01:18 GMT', 'Thu, 18 Aug 50 02:01:18 GMT']) {
    t.equal(await twice(t, { expires: bad }), 'MISS', bad)
  }
  t.equal(await twice(t, { expires: `${future} GMT` }), 'HIT', 'IMF-fixdate')
  t.equal(await twice(t, { expires: 'THU, 18 AUG 2050 02:01:18 gmt' }), 'HIT', 'in any case')
})

t.test('RFC 9110 §5.6.7: the obsolete RFC 850 and asctime forms are read, the two-digit year as the nearest', async t => {
  t.equal(await twice(t, { expires: 'Thursday, 18-Aug-50 02:01:18 GMT' }), 'HIT', 'RFC 850, year 2050')
  t.equal(await twice(t, { expires: 'Thu Aug  8 02:01:18 2050' }), 'HIT', 'asctime')
})

t.test('RFC 9111 §5.1: an Age that is not delta-seconds is ignored', async t => {
  t.equal(await twice(t, { 'cache-control': 'max-age=3600', age: '7200.0' }), 'HIT')
  t.equal(await twice(t, { 'cache-control': 'max-age=3600', age: '7200' }), 'MISS', 'a valid Age still counts')
  t.equal(await twice(t, { 'cache-control': 'max-age=3600', age: '7200, 0' }), 'MISS', 'of a list, the first')
  t.equal(await twice(t, { 'cache-control': 'max-age=3600', age: '0, 7200' }), 'HIT', 'of a list, the first')
})

t.test('RFC 9111 §5.2: directive names are case-insensitive', async t => {
  t.equal(await twice(t, { 'cache-control': 'Max-Age=3600' }), 'HIT')
  t.equal(await twice(t, { 'cache-control': 'max-age=3600, No-CaChE' }), 'MISS')
  t.equal(await twice(t, { 'cache-control': 'max-age=3600, NO-STORE' }), 'MISS')
})

t.test('RFC 9111 §3: any final status with explicit freshness is stored; without it, not', async t => {
  for (const status of [299, 400, 499, 500, 502, 503, 504, 599]) {
    t.equal(await twice(t, { 'cache-control': 'max-age=3600' }, status), 'HIT', String(status))
  }
  t.equal(await twice(t, {}, 500), 'MISS', 'a 500 without freshness')
  const gw = await startCached(t, (req, res) => {
    res.statusCode = 599
    answer({ 'cache-control': 'max-age=3600' }, 'oops')(req, res)
  })
  await call(`${gw.url}/a`)
  const hit = await call(`${gw.url}/a`)
  t.equal(hit.status, 599, 'served with its own status')
  t.equal(hit.body, 'oops')
})

t.test('RFC 9111 §5.2.2.3: must-understand stores a known status despite no-store, and never an unknown one', async t => {
  t.equal(await twice(t, { 'cache-control': 'max-age=3600, no-store, must-understand' }), 'HIT')
  t.equal(await twice(t, { 'cache-control': 'max-age=3600, no-store, must-understand' }, 599), 'MISS')
})

t.test('RFC 9110 §6.6.1: a hit carries the Date the origin sent, not a new one', async t => {
  const date = new Date(Date.now() - 10_000).toUTCString()
  const gw = await startCached(t, answer({ 'cache-control': 'max-age=3600', date }))
  await call(`${gw.url}/a`)
  gw.advance(5_000)
  const hit = await call(`${gw.url}/a`)
  t.equal(hit.headers['x-cache'], 'HIT')
  t.equal(hit.headers.date, date)
})
