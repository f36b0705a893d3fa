import t from 'tap'

type Test = { teardown (fn: () => unknown): void }
import { call } from '../../helper'
import { answer, startCached } from './support'

// RFC 9213: a targeted field replaces Cache-Control and Expires for the caches it targets.

async function twice (t: Test, headers: Record<string, string>): Promise<{ first: Awaited<ReturnType<typeof call>>, second: Awaited<ReturnType<typeof call>> }> {
  const gw = await startCached(t, answer(headers))
  const first = await call(`${gw.url}/a`)
  return { first, second: await call(`${gw.url}/a`) }
}

const cache = async (t: Test, headers: Record<string, string>) => String((await twice(t, headers)).second.headers['x-cache'])

t.test('RFC 9213 §2.1: CDN-Cache-Control replaces Cache-Control and Expires', async t => {
  const future = new Date(Date.now() + 3600_000).toUTCString()
  t.equal(await cache(t, { 'cdn-cache-control': 'max-age=3600' }), 'HIT', 'its own max-age')
  t.equal(await cache(t, { 'cdn-cache-control': 'max-age=3600', 'cache-control': 'no-store' }), 'HIT', 'over Cache-Control: no-store')
  t.equal(await cache(t, { 'cdn-cache-control': 'max-age=0', expires: future }), 'MISS', 'over a future Expires')
  t.equal(await cache(t, { 'cdn-cache-control': 'max-age=3600', expires: 'Thu, 01 Jan 1970 00:00:00 GMT' }), 'HIT', 'over a past Expires')
  t.equal(await cache(t, { 'cdn-cache-control': 'private', 'cache-control': 'max-age=3600' }), 'MISS', 'private')
  t.equal(await cache(t, { 'cdn-cache-control': 'no-cache', 'cache-control': 'max-age=3600' }), 'MISS', 'no-cache')
  t.equal(await cache(t, { 'cdn-cache-control': 'no-store', 'cache-control': 'max-age=3600' }), 'MISS', 'no-store')
  t.equal(await cache(t, { 'cdn-cache-control': 'foobar, max-age=3600' }), 'HIT', 'an unknown directive beside it')
})

t.test('RFC 9213 §2.2: a targeted field that is not a valid Dictionary, or whose max-age is not an Integer, is ignored', async t => {
  t.equal(await cache(t, { 'cdn-cache-control': 'max-age=10000, &&&&&', 'cache-control': 'no-store' }), 'MISS', 'parse failure: Cache-Control rules')
  t.equal(await cache(t, { 'cdn-cache-control': 'max-age="10000"', 'cache-control': 'no-store' }), 'MISS', 'a String max-age')
  t.equal(await cache(t, { 'cdn-cache-control': 'max-age="10000"', 'cache-control': 'max-age=3600' }), 'HIT', 'Cache-Control rules instead')
})

t.test('RFC 9213 §2.1: Gatehouse-Cache-Control, the most specific, wins over CDN-Cache-Control, and only it is not passed on', async t => {
  const { first, second } = await twice(t, { 'gatehouse-cache-control': 'max-age=3600', 'cdn-cache-control': 'no-store', 'cache-control': 'no-store' })
  t.equal(second.headers['x-cache'], 'HIT')
  t.equal(first.headers['gatehouse-cache-control'], undefined, 'not on the miss')
  t.equal(second.headers['gatehouse-cache-control'], undefined, 'not on the hit')
  t.equal(second.headers['cdn-cache-control'], 'no-store', 'CDN-Cache-Control is passed on, for the CDNs in front')
  t.equal(await cache(t, { 'gatehouse-cache-control': 'no-store', 'cdn-cache-control': 'max-age=3600' }), 'MISS')
})
