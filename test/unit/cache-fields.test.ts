import t from 'tap'
import { parseHttpDate } from '../../lib/cache/http-date'
import { parseDictionary, targetedDirectives } from '../../lib/cache/targeted'
import { singleRange } from '../../lib/cache/range'

t.test('HTTP-date (RFC 9110 §5.6.7): the three forms, strictly', async t => {
  const when = Date.UTC(2050, 7, 18, 2, 1, 18)
  t.equal(parseHttpDate('Thu, 18 Aug 2050 02:01:18 GMT'), when)
  t.equal(parseHttpDate('thu, 18 aug 2050 02:01:18 gmt'), when, 'case is not held against it')
  t.equal(parseHttpDate('Thursday, 18-Aug-50 02:01:18 GMT', Date.UTC(2026, 0, 1)), when, 'RFC 850, within 50 years ahead')
  t.equal(parseHttpDate('Thursday, 18-Aug-99 02:01:18 GMT', Date.UTC(2026, 0, 1)), Date.UTC(1999, 7, 18, 2, 1, 18), 'RFC 850, past century')
  t.equal(parseHttpDate('Thu Aug 18 02:01:18 2050'), when, 'asctime')
  t.equal(parseHttpDate('Thu Aug  8 02:01:18 2050'), Date.UTC(2050, 7, 8, 2, 1, 18), 'asctime, one-digit day')
  for (const bad of ['Thu, 18 Aug 2050 02:01:18 UTC', 'Thu 18 Aug 2050 02:01:18 GMT', 'Thu, 18-Aug-2050 02:01:18 GMT', 'Thu, 18 Aug 2050 2:01:18 GMT', 'Thu, 31 Feb 2050 02:01:18 GMT', 'Thu, 18 Aug 2050 25:01:18 GMT', '0', '']) {
    t.ok(Number.isNaN(parseHttpDate(bad)), bad)
  }
})

t.test('Structured Field Dictionary for targeted fields (RFC 8941 §4.2.2, RFC 9213 §2.2)', async t => {
  t.same(parseDictionary('max-age=60, private'), { 'max-age': '60', private: true })
  t.same(parseDictionary('no-cache, foo="bar";x=1, baz=(a b)'), { 'no-cache': true, foo: 'bar', baz: true })
  t.same(parseDictionary('private=?0, max-age=5'), { 'max-age': '5' }, '?0 is off')
  for (const bad of ['max-age=60,', 'max-age=60, &&&', 'Max-Age=60', 'max-age="60"', 'max-age=1.5', 'max-age=-1', 'a="unterminated', 'a b']) {
    t.equal(parseDictionary(bad), undefined, bad)
  }
  t.same(targetedDirectives({ 'gatehouse-cache-control': 'max-age="x"', 'cdn-cache-control': 'max-age=9' }), { 'max-age': '9' }, 'an invalid one is skipped for the next')
  t.equal(targetedDirectives({ 'cdn-cache-control': '' }), undefined, 'empty: none')
})

t.test('single byte ranges (RFC 9110 §14.1.2)', async t => {
  t.same(singleRange('bytes=0-1', 10), { start: 0, end: 1 })
  t.same(singleRange('bytes=-3', 10), { start: 7, end: 9 })
  t.same(singleRange('bytes=-30', 10), { start: 0, end: 9 })
  t.same(singleRange('bytes=4-', 10), { start: 4, end: 9 })
  t.equal(singleRange('bytes=10-', 10), 'unsatisfiable')
  t.equal(singleRange('bytes=-0', 10), 'unsatisfiable')
  t.equal(singleRange('bytes=5-2', 10), undefined)
  t.equal(singleRange('bytes=0-1,3-4', 10), undefined)
})
