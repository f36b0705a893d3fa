import t from 'tap'
import { messageOf } from './message-of'
import { normalizeConfig, DEFAULT_LIMITS, DEFAULT_QUEUE_TIMEOUT, DEFAULT_TUNNEL_IDLE_TIMEOUT } from '../../../lib/config'

const base = (): any => ({
  upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] } },
  routes: [{ match: { path: '/*' }, upstream: 'api' }]
})

t.test('bad limits fail at start, each named by its path', async t => {
  const cases: Array<[string, (c: any) => void, RegExp]> = [
    ['unknown limit', c => { c.limits = { sendTimout: 1000 } }, /limits\.sendTimout: unknown key/],
    ['limits not an object', c => { c.limits = 5 }, /limits: must be object/],
    ['zero send timeout', c => { c.limits = { sendTimeout: 0 } }, /limits\.sendTimeout: must be between 1 ms and 2147483647 ms/],
    ['zero receive timeout', c => { c.limits = { receiveTimeout: '0s' } }, /limits\.receiveTimeout: must be between 1 ms/],
    ['bad headers timeout', c => { c.limits = { headersTimeout: 'soon' } }, /limits\.headersTimeout: must be a duration/],
    ['bad request buffer', c => { c.limits = { requestBuffer: 'lots' } }, /limits\.requestBuffer: must be a size/],
    ['zero keep-alive timeout', c => { c.limits = { keepAliveTimeout: 0 } }, /limits\.keepAliveTimeout: must be between 1 ms/],
    ['timer overflow', c => { c.limits = { sendTimeout: '1000h' } }, /limits\.sendTimeout: must be between 1 ms and 2147483647 ms/],
    ['zero max connections', c => { c.limits = { maxConnections: 0 } }, /limits\.maxConnections: must be >= 1/],
    ['fractional max connections', c => { c.limits = { maxConnections: 1.5 } }, /limits\.maxConnections: must be integer/],
    ['bad queue timeout', c => { c.upstreams.api.timeouts = { queue: 'later' } }, /upstreams\.api\.timeouts\.queue: must be a duration/],
    ['zero queue timeout', c => { c.upstreams.api.timeouts = { queue: 0 } }, /upstreams\.api\.timeouts\.queue: must be between 1 ms/],
    ['zero tunnel idle', c => { c.upstreams.api.timeouts = { tunnelIdle: 0 } }, /upstreams\.api\.timeouts\.tunnelIdle: must be between 1 ms/],
    ['typo in timeouts', c => { c.upstreams.api.timeouts = { queu: 1 } }, /upstreams\.api\.timeouts\.queu: unknown key/]
  ]
  for (const [name, mutate, expected] of cases) {
    const c = base()
    mutate(c)
    t.match(messageOf(c), expected, name)
  }
})

t.test('limits default as documented and durations are parsed', async t => {
  const n = normalizeConfig(base(), { env: {} })
  t.same(n.limits, { sendTimeout: 60_000, receiveTimeout: 60_000, headersTimeout: 10_000, keepAliveTimeout: 72_000, maxConnections: 10_000, requestBuffer: 65_536 })
  t.same(n.limits, DEFAULT_LIMITS)
  const api = n.upstreams.get('api')!
  t.equal(api.queueTimeout, 5_000)
  t.equal(api.queueTimeout, DEFAULT_QUEUE_TIMEOUT)
  t.equal(api.tunnelIdleTimeout, 3_600_000)
  t.equal(api.tunnelIdleTimeout, DEFAULT_TUNNEL_IDLE_TIMEOUT)

  const c = base()
  c.limits = { sendTimeout: '2s', receiveTimeout: '1.5s', headersTimeout: 500, keepAliveTimeout: '1m', maxConnections: 7, requestBuffer: '16KiB' }
  c.upstreams.api.timeouts = { queue: '250ms', tunnelIdle: '2h' }
  const m = normalizeConfig(c, { env: {} })
  t.same(m.limits, { sendTimeout: 2_000, receiveTimeout: 1_500, headersTimeout: 500, keepAliveTimeout: 60_000, maxConnections: 7, requestBuffer: 16_384 })
  t.equal(m.upstreams.get('api')!.queueTimeout, 250)
  t.equal(m.upstreams.get('api')!.tunnelIdleTimeout, 7_200_000)
})
