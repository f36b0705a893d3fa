import t from 'tap'
import { authorized, bearerOf, cookieOf, hostAllowed, sameSecret, sessionValue } from '../../lib/admin-guard'
import { isLoopback } from '../../lib/config-admin'
import { LatencyHistogram, LATENCY_BUCKETS } from '../../lib/latency-histogram'

t.test('secrets compare equal only when equal, whatever their lengths', async t => {
  t.ok(sameSecret('abc', 'abc'))
  t.notOk(sameSecret('abc', 'abd'))
  t.notOk(sameSecret('abc', 'abcd'))
  t.notOk(sameSecret('', 'abc'))
})

t.test('the token as a Bearer header or as the session cookie', async t => {
  const token = 'x'.repeat(20)
  t.equal(bearerOf(`Bearer ${token}`), token)
  t.equal(bearerOf(`bearer  ${token}`), token, 'the scheme is case-insensitive (RFC 7235)')
  t.equal(bearerOf(`Basic ${token}`), undefined)
  t.equal(cookieOf('a=1; gh_admin=v; b=2', 'gh_admin'), 'v')
  t.equal(cookieOf('xgh_admin=v', 'gh_admin'), undefined)
  t.ok(authorized({ authorization: `Bearer ${token}` }, token))
  t.ok(authorized({ cookie: `gh_admin=${sessionValue(token)}` }, token))
  t.notOk(authorized({ cookie: `gh_admin=${sessionValue('y'.repeat(20))}` }, token), 'another token\'s session')
  t.notOk(authorized({ authorization: 'Bearer nope', cookie: `gh_admin=${sessionValue(token)}` }, token), 'a wrong Bearer header is not rescued by the cookie')
  t.notOk(authorized({}, token))
})

t.test('Host: loopback names and addresses, or the listed names; ports ignored', async t => {
  for (const h of ['127.0.0.1', '127.0.0.1:9901', '127.1.2.3', 'localhost:1', 'LOCALHOST', 'a.localhost', '[::1]:9901', '[::1]']) t.ok(hostAllowed(h, []), h)
  for (const h of [undefined, '', 'evil.example', '127.0.0.1.evil.example', '10.0.0.1:9901', '[::2]:1', '0.0.0.0']) t.notOk(hostAllowed(h, []), String(h))
  t.ok(hostAllowed('admin.internal:9901', ['admin.internal']))
  t.ok(isLoopback('::ffff:127.0.0.1'))
  t.notOk(isLoopback('0.0.0.0'))
  t.notOk(isLoopback('::'))
})

t.test('the latency histogram counts each observation in the first bucket that holds it', async t => {
  const h = new LatencyHistogram()
  for (const ms of [0.5, 1, 1.1, 30_000, 30_001]) h.observe(ms)
  const c = h.cumulative()
  t.equal(c.length, LATENCY_BUCKETS.length + 1)
  t.equal(c[0], 2, '≤ 1 ms: 0.5 and 1')
  t.equal(c[1], 3, '≤ 2.5 ms')
  t.equal(c[LATENCY_BUCKETS.length - 1], 4, '≤ 30 s')
  t.equal(c[LATENCY_BUCKETS.length], 5, '+Inf')
  t.equal(h.count, 5)
  t.ok(Math.abs(h.sum - 60_003.6) < 1e-6, 'sum in ms')
})
