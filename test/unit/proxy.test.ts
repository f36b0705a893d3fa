import t from 'tap'
import { Attempt } from '../../lib/proxy/attempt'
import { Upstream } from '../../lib/upstreams/upstream'
import { normalizeConfig } from '../../lib/config'
import type { GatehouseConfig } from '../../lib/config'

type UpstreamConfig = GatehouseConfig['upstreams'][string]

function upstream (extra: Partial<UpstreamConfig> = {}, servers: UpstreamConfig['servers'] = [{ url: 'http://a:1', id: 'a' }, { url: 'http://b:1', id: 'b' }, { url: 'http://c:1', id: 'c', backup: true }]) {
  const config = normalizeConfig({ upstreams: { u: { servers, ...extra } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }, { env: {} })
  return new Upstream(config.upstreams.get('u')!)
}
const req = { ip: '127.0.0.1', url: '/', headers: {} }
const ANY = { ifNotSent: true, ifSent: true }

t.test('each try goes to a server not tried yet, primaries before the backup, then nothing', async t => {
  const u = upstream({ retries: 5 })
  const attempt = new Attempt(u, req, null)
  const order: string[] = []
  for (let b = attempt.next(); b !== undefined; b = attempt.next()) {
    order.push(b.id)
    t.equal(b.inflight, 1, 'booked in flight while it holds the request')
    const failure = attempt.failed('ECONNREFUSED', ANY)
    t.equal(b.inflight, 0, 'released by the failure')
    t.equal(b.failedAttempts, 1)
    if (!failure.retry) break
  }
  t.same(order, ['a', 'b', 'c'])
  t.equal(attempt.next(), undefined)
  t.equal((attempt.noServer() as Error & { code: string }).code, 'GH_BAD_GATEWAY', 'the last failure is the answer once something was tried')
})

t.test('with nothing tried, no server is a 503', async t => {
  const u = upstream()
  for (const b of u.backends.all()) b.healthy = false
  u.backends.markChanged()
  const attempt = new Attempt(u, req, null)
  t.equal(attempt.next(), undefined)
  const err = attempt.noServer() as Error & { code: string, statusCode: number }
  t.equal(err.code, 'GH_NO_SERVER_AVAILABLE')
  t.equal(err.statusCode, 503)
})

t.test('the sticky hint is taken while ready, and never twice', async t => {
  const u = upstream({ retries: 5 })
  const attempt = new Attempt(u, req, 'b')
  t.equal(attempt.next()?.id, 'b')
  attempt.failed('ECONNREFUSED', ANY)
  t.equal(attempt.next()?.id, 'a', 'not the hinted server once it failed')

  const [, b] = u.backends.all()
  b.healthy = false
  u.backends.markChanged()
  t.equal(new Attempt(u, req, 'b').next()?.id !== 'b', true, 'not while it is down')
  t.equal(new Attempt(u, req, 'nope').next() !== undefined, true, 'an unknown id is ignored')
})

t.test('what may be sent again depends on whether the failure proves nothing was sent', async t => {
  const u = upstream({ retries: 5 })
  const cases: Array<[string, { ifNotSent: boolean, ifSent: boolean }, boolean]> = [
    ['ECONNREFUSED', { ifNotSent: true, ifSent: false }, true],
    ['UND_ERR_CONNECT_TIMEOUT', { ifNotSent: true, ifSent: false }, true],
    ['ECONNREFUSED', { ifNotSent: false, ifSent: false }, false],
    ['ECONNRESET', { ifNotSent: true, ifSent: false }, false],
    ['UND_ERR_HEADERS_TIMEOUT', { ifNotSent: true, ifSent: true }, true],
    ['UND_ERR_SOCKET', { ifNotSent: true, ifSent: false }, false]
  ]
  for (const [code, resend, retry] of cases) {
    const attempt = new Attempt(u, req, null)
    attempt.next()
    t.equal(attempt.failed(code, resend).retry, retry, `${code} with ${JSON.stringify(resend)}`)
  }
})

t.test('the answer names the kind of failure', async t => {
  const u = upstream({ retries: 0 })
  const codes: Array<[string, string, number]> = [
    ['ECONNREFUSED', 'GH_BAD_GATEWAY', 502],
    ['UND_ERR_CONNECT_TIMEOUT', 'GH_CONNECT_TIMEOUT', 504],
    ['UND_ERR_HEADERS_TIMEOUT', 'GH_GATEWAY_TIMEOUT', 504]
  ]
  for (const [code, expected, status] of codes) {
    const attempt = new Attempt(u, req, null)
    attempt.next()
    const { retry, error } = attempt.failed(code, ANY)
    t.equal(retry, false, 'retries: 0 allows none')
    t.equal((error as Error & { code: string }).code, expected)
    t.equal((error as Error & { statusCode: number }).statusCode, status)
  }
})

t.test('failures eject a server after maxFails, and say so once', async t => {
  const u = upstream({ retries: 0, passive: { maxFails: 2, failTimeout: '10s', maxEjectionPercent: 100 } }, [{ url: 'http://a:1', id: 'a' }])
  const ejected: boolean[] = []
  for (let i = 0; i < 2; i++) {
    const attempt = new Attempt(u, req, null)
    attempt.next()
    ejected.push(attempt.failed('ECONNREFUSED', ANY).ejected)
  }
  t.same(ejected, [false, true])
  t.equal(new Attempt(u, req, null).next(), undefined, 'an ejected server takes nothing')
})

t.test('every request counts towards the retry budget, so retries stay a share of traffic', async t => {
  const u = upstream({ retries: 1, retryBudget: 0 }, [{ url: 'http://a:1', id: 'a' }, { url: 'http://b:1', id: 'b' }])
  let granted = 0
  for (let i = 0; i < 30; i++) {
    const attempt = new Attempt(u, req, null)
    attempt.next()
    if (attempt.failed('ECONNREFUSED', ANY).retry) granted++
    attempt.release()
    for (const b of u.backends.all()) { b.failures = []; b.ejectedUntil = 0 }
    u.backends.markChanged()
  }
  t.equal(granted, 10, 'a zero budget still allows the minimum per window, and no more')
  t.equal(u.retries, 10)
})

t.test('release is idempotent and only undoes its own booking', async t => {
  const u = upstream()
  const attempt = new Attempt(u, req, null)
  const b = attempt.next()!
  b.inflight += 5 // other requests on the same server
  attempt.release()
  attempt.release()
  t.equal(b.inflight, 5)
  attempt.succeeded()
  t.equal(b.failedAttempts, 0)
})
