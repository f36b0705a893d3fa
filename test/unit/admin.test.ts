import t from 'tap'
import { bearerOf, cookieOf, hostAllowed, sameSecret } from '../../lib/admin/guard'
import { AdminSessions } from '../../lib/admin/sessions'
import { isLoopback } from '../../lib/config/normalize/admin'
import { LatencyHistogram, LATENCY_BUCKETS } from '../../lib/admin/latency-histogram'

t.test('secrets compare equal only when equal, whatever their lengths', async t => {
  t.ok(sameSecret('abc', 'abc'))
  t.notOk(sameSecret('abc', 'abd'))
  t.notOk(sameSecret('abc', 'abcd'))
  t.notOk(sameSecret('', 'abc'))
})

t.test('the token as a Bearer header; dashboard sessions', async t => {
  const token = 'x'.repeat(20)
  t.equal(bearerOf(`Bearer ${token}`), token)
  t.equal(bearerOf(`bearer  ${token}`), token, 'the scheme is case-insensitive (RFC 7235)')
  t.equal(bearerOf(`Basic ${token}`), undefined)
  t.equal(cookieOf('a=1; gh_admin=v; b=2', 'gh_admin'), 'v')
  t.equal(cookieOf('xgh_admin=v', 'gh_admin'), undefined)
  let now = 1_000_000
  const sessions = new AdminSessions(60_000, () => now)
  const id = sessions.start(token)
  t.not(sessions.start(token), id, 'each login its own random id')
  t.ok(sessions.valid(id, token))
  t.notOk(sessions.valid(id, 'y'.repeat(20)), 'a session ends with the token it was opened under')
  t.notOk(sessions.valid(id, token), 'and stays ended')
  const other = sessions.start(token)
  t.notOk(sessions.valid('forged', token))
  sessions.end(other)
  t.notOk(sessions.valid(other, token), 'ended on logout')
  const last = sessions.start(token)
  now += 60_000
  t.notOk(sessions.valid(last, token), 'expired after the ttl')
})

t.test('Host: loopback names and addresses, or the listed names; ports ignored', async t => {
  for (const h of ['127.0.0.1', '127.0.0.1:9901', '127.1.2.3', 'localhost:1', 'LOCALHOST', 'a.localhost', '[::1]:9901', '[::1]']) t.ok(hostAllowed(h, []), h)
  for (const h of [undefined, '', 'evil.example', '127.0.0.1.evil.example', '10.0.0.1:9901', '[::2]:1', '0.0.0.0', '[::1]evil.example', '[::1]:9901evil', '[::1]@evil.example', '127.0.0.1@evil.example', '127.0.0.1:9901:1', 'localhost:', '[127.0.0.1]', 'local host', '127.0.0.1/x']) t.notOk(hostAllowed(h, []), String(h))
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
