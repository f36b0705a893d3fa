import t from 'tap'
import { Attempt } from '../../lib/proxy/attempt'
import { Upstream } from '../../lib/upstreams/upstream'
import { normalizeConfig } from '../../lib/config'
import type { GatehouseConfig } from '../../lib/config'
import { Admission } from '../../lib/proxy/admission'
import { waitFor } from '../wait'
import { MIN_RETRIES_PER_WINDOW, RetryBudget } from '../../lib/proxy/retry-budget'

t.test('attempt', async t => {
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
})

t.test('admission', async t => {
  t.test('requests past the limit start in arrival order as slots free', async t => {
    const a = new Admission(2, 10_000)
    const events: string[] = []
    for (const name of ['a', 'b', 'c', 'd', 'e']) a.admit(() => events.push(`start ${name}`), () => events.push(`timeout ${name}`))
    t.same(events, ['start a', 'start b'])
    t.equal(a.inflight, 2)
    t.equal(a.queued, 3)
    a.release()
    t.same(events, ['start a', 'start b', 'start c'])
    a.release()
    a.release()
    t.same(events, ['start a', 'start b', 'start c', 'start d', 'start e'])
    t.equal(a.queued, 0)
    t.equal(a.inflight, 2)
    a.release()
    a.release()
    t.equal(a.inflight, 0)
  })

  t.test('a waiter that gets no slot within the timeout times out, once, and never starts', async t => {
    const a = new Admission(1, 50)
    const events: string[] = []
    a.admit(() => events.push('start a'), () => events.push('timeout a'))
    a.admit(() => events.push('start b'), () => events.push('timeout b'))
    await waitFor(() => events.includes('timeout b'), { what: 'b times out' })
    a.release()
    t.same(events, ['start a', 'timeout b'])
    t.equal(a.inflight, 0)
    t.equal(a.queued, 0)
  })

  t.test('a larger limit (a reload) starts waiters at once; abandon fails the rest', async t => {
    const a = new Admission(1, 10_000)
    const events: string[] = []
    for (const name of ['a', 'b', 'c', 'd']) a.admit(() => events.push(`start ${name}`), () => events.push(`gone ${name}`))
    a.limit = 2
    a.drain()
    t.same(events, ['start a', 'start b'])
    a.abandon()
    t.same(events, ['start a', 'start b', 'gone c', 'gone d'])
    t.equal(a.queued, 0)
  })
})

t.test('retry-budget', async t => {
  t.test('retries are capped at a share of recent requests, with a floor', async t => {
    let now = 1_000_000
    const budget = new RetryBudget(0.2, () => now)
    for (let i = 0; i < 100; i++) budget.recordRequest()
    let granted = 0
    for (let i = 0; i < 50; i++) if (budget.tryAcquire()) granted++
    t.equal(granted, 20, '20% of 100 requests')

    // Ten seconds later the window has moved on: the old requests and retries no longer count.
    now += 10_000
    granted = 0
    for (let i = 0; i < 50; i++) if (budget.tryAcquire()) granted++
    t.equal(granted, MIN_RETRIES_PER_WINDOW, 'a quiet upstream still gets the floor')
  })

  t.test('the window slides second by second', async t => {
    let now = 0
    const budget = new RetryBudget(0.5, () => now)
    for (let i = 0; i < 40; i++) budget.recordRequest()
    for (let i = 0; i < 20; i++) t.ok(budget.tryAcquire())
    t.notOk(budget.tryAcquire(), 'spent')
    now += 5_000
    for (let i = 0; i < 40; i++) budget.recordRequest()
    let granted = 0
    while (budget.tryAcquire()) granted++
    t.equal(granted, 20, '80 requests in the window allow 40 retries, 20 already taken')
    now += 5_500
    // The first second's requests and retries have left the window.
    granted = 0
    while (budget.tryAcquire()) granted++
    t.equal(granted, 0, 'the 40 requests left in the window allow 20 retries, and those 20 still count')
  })
})
