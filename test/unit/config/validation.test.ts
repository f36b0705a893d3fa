import t from 'tap'
import { messageOf } from './message-of'
import { normalizeConfig } from '../../../lib/config'

const base = () => ({
  upstreams: {
    api: { servers: [{ url: 'http://127.0.0.1:9001' }, { url: 'http://127.0.0.1:9002' }] },
    web: { servers: [{ url: 'http://127.0.0.1:9100' }] }
  },
  routes: [
    { match: { path: '/v1/*' }, upstream: 'api' },
    { match: { path: '/a/*' }, upstream: 'web' },
    { match: { path: '/*' }, upstream: 'web' }
  ]
})

t.test('each bad field is named by its full path', async t => {
  const cases: Array<[string, (c: any) => void, RegExp]> = [
    ['unknown upstream', c => { c.routes[2].upstream = 'nope' }, /routes\[2\]\.upstream: unknown upstream "nope"/],
    ['empty server list', c => { c.upstreams.api.servers = [] }, /upstreams\.api\.servers: must NOT have fewer than 1 items/],
    ['url not http(s)', c => { c.upstreams.api.servers[1].url = 'ftp://127.0.0.1:21' }, /upstreams\.api\.servers\[1\]\.url: must be an http:\/\/ or https:\/\/ origin/],
    ['unknown balance', c => { c.upstreams.api.balance = 'fastest' }, /upstreams\.api\.balance: must be one of "round-robin", "random", "least-connections", "p2c", "hash"/],
    ['weight below 1', c => { c.upstreams.api.servers[0].weight = 0 }, /upstreams\.api\.servers\[0\]\.weight: must be >= 1/],
    ['typo in a key', c => { c.upstreams.api.servers[0].wieght = 2 }, /upstreams\.api\.servers\[0\]\.wieght: unknown key/],
    ['typo at top level', c => { c.rout = [] }, /^[\s\S]*rout: unknown key/],
    ['bad duration', c => { c.upstreams.api.timeouts = { connect: 'soon' } }, /upstreams\.api\.timeouts\.connect: must be a duration/],
    ['hash without key', c => { c.upstreams.api.balance = 'hash' }, /upstreams\.api\.hashKey: required when balance is "hash"/],
    ['bad hash key', c => { c.upstreams.api.balance = 'hash'; c.upstreams.api.hashKey = 'body' }, /upstreams\.api\.hashKey: must be one of "ip", "path"/],
    ['only backups', c => { c.upstreams.web.servers[0].backup = true }, /upstreams\.web\.servers: needs at least one server that is not a backup/],
    ['duplicate server id', c => { c.upstreams.api.servers[1].url = 'http://127.0.0.1:9001/' }, /upstreams\.api\.servers\[1\]: server id "127\.0\.0\.1:9001" is already used/],
    ['duplicate route', c => { c.routes[1].match.path = '/v1/*' }, /routes\[1\]\.match: same path, host and method DELETE as routes\[0\]/],
    ['bad host', c => { c.routes[0].match.host = 'a*.example.com' }, /routes\[0\]\.match\.host: must be a host name/],
    ['sticky without secret', c => { c.upstreams.api.sticky = {} }, /cookieSecret: required because upstreams\.api\.sticky is set/],
    ['short secret', c => { c.cookieSecret = 'short' }, /cookieSecret: must NOT have fewer than 32 characters/],
    ['missing routes', c => { delete c.routes }, /routes: required/],
    ['stripPrefix not a prefix', c => { c.routes[0].stripPrefix = '/v2' }, /routes\[0\]\.stripPrefix: "\/v2" is not a prefix/]
  ]
  for (const [name, mutate, expected] of cases) {
    const c = base()
    mutate(c)
    t.match(messageOf(c), expected, name)
  }
})

t.test('every problem is reported at once', async t => {
  const c: any = base()
  c.upstreams.api.servers[0].url = 'nope'
  c.routes[0].upstream = 'missing'
  const message = messageOf(c)
  t.match(message, /upstreams\.api\.servers\[0\]\.url/)
  // Schema errors stop before the cross-field checks, so one pass may not list both kinds.
  const d: any = base()
  d.routes[0].upstream = 'missing'
  d.routes[1].upstream = 'gone'
  t.match(messageOf(d), /routes\[0\]\.upstream[\s\S]*routes\[1\]\.upstream/)
})

t.test('defaults are filled in and durations parsed', async t => {
  const c: any = base()
  c.upstreams.api.timeouts = { connect: '1s', response: '500ms' }
  const n = normalizeConfig(c, { env: {} })
  const api = n.upstreams.get('api')!
  t.equal(api.balance, 'round-robin')
  t.same(api.timeouts, { connect: 1000, response: 500 })
  t.same(api.servers[0], { id: '127.0.0.1:9001', url: 'http://127.0.0.1:9001', origin: 'http://127.0.0.1:9001', weight: 1, backup: false })
  t.same(n.upstreams.get('web')!.timeouts, { connect: 5000, response: 60000 })
  t.equal(api.retries, 2)
  t.same(api.passive, { maxFails: 3, failTimeout: 10000, maxEjectionPercent: 50 })
  t.equal(n.retryBodyLimit, 65536)
  t.equal(n.drainTimeout, 30000)
})
