import t from 'tap'
import Fastify from 'fastify'
import { normalizeConfig, DEFAULT_MIRROR_PERCENT, DEFAULT_MIRROR_MAX_BODY_SIZE, DEFAULT_MIRROR_MAX_IN_FLIGHT } from '../../lib/config'
import { exportConfig } from '../../lib/config/export'
import gatehouse from '../../app'

const base = (): any => ({
  upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] }, shadow: { servers: [{ url: 'http://127.0.0.1:9002' }] } },
  routes: [
    { match: { path: '/v1/*' }, upstream: 'api' },
    { match: { path: '/*' }, upstream: 'api', mirror: { upstream: 'shadow' } }
  ]
})

function messageOf (config: unknown): string {
  try {
    normalizeConfig(config, { env: {} })
  } catch (err) {
    t.equal((err as { code: string }).code, 'GH_CONFIG_INVALID')
    return (err as Error).message
  }
  throw new Error('config was accepted')
}

t.test('defaults, and the export loads back the same', async t => {
  const config = normalizeConfig(base(), { env: {} })
  t.same(config.routes[1].mirror, { upstream: 'shadow', percent: DEFAULT_MIRROR_PERCENT, maxBodySize: DEFAULT_MIRROR_MAX_BODY_SIZE, maxInFlight: DEFAULT_MIRROR_MAX_IN_FLIGHT })
  t.same([DEFAULT_MIRROR_PERCENT, DEFAULT_MIRROR_MAX_BODY_SIZE, DEFAULT_MIRROR_MAX_IN_FLIGHT], [100, 65536, 100])
  t.notOk('mirror' in config.routes[0], 'a route without one has none')
  const c = base()
  c.routes[1].mirror = { upstream: 'shadow', percent: 2.5, maxBodySize: '8KB', maxInFlight: 7 }
  const out = JSON.parse(JSON.stringify(exportConfig(normalizeConfig(c, { env: {} }), [...normalizeConfig(c, { env: {} }).upstreams.values()])))
  t.same(out.routes[1].mirror, { upstream: 'shadow', percent: 2.5, maxBodySize: 8192, maxInFlight: 7 }, 'sizes in bytes')
  t.same(normalizeConfig(out, { env: {} }).routes[1].mirror, normalizeConfig(c, { env: {} }).routes[1].mirror)
})

t.test('each bad mirror field is named by its JSON path', async t => {
  const cases: Array<[string, (c: any) => void, RegExp]> = [
    ['unknown group', c => { c.routes[1].mirror.upstream = 'nope' }, /routes\[1\]\.mirror\.upstream: unknown upstream "nope" \(known: "api", "shadow"\)/],
    ['the route\'s own group', c => { c.routes[1].mirror.upstream = 'api' }, /routes\[1\]\.mirror\.upstream: "api" is the route's own upstream/],
    ['no group', c => { c.routes[1].mirror = {} }, /routes\[1\]\.mirror\.upstream: required/],
    ['percent over 100', c => { c.routes[1].mirror.percent = 101 }, /routes\[1\]\.mirror\.percent: must be <= 100/],
    ['percent below 0', c => { c.routes[1].mirror.percent = -1 }, /routes\[1\]\.mirror\.percent: must be >= 0/],
    ['maxInFlight 0', c => { c.routes[1].mirror.maxInFlight = 0 }, /routes\[1\]\.mirror\.maxInFlight: must be >= 1/],
    ['bad size', c => { c.routes[1].mirror.maxBodySize = 'lots' }, /routes\[1\]\.mirror\.maxBodySize: must be a size/],
    ['typo', c => { c.routes[1].mirror.percnt = 5 }, /routes\[1\]\.mirror\.percnt: unknown key/],
    ['on a redirect', c => { c.routes[0] = { match: { path: '/v1/*' }, redirect: { to: '/x' }, mirror: { upstream: 'shadow' } } }, /routes\[0\]\.mirror: a redirect route sends no request to copy/]
  ]
  for (const [name, mutate, expected] of cases) {
    const c = base()
    mutate(c)
    t.match(messageOf(c), expected, name)
  }
})

t.test('the gateway refuses to start with an unknown mirror group', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  const c = base()
  c.routes[1].mirror.upstream = 'gone'
  await t.rejects(async () => { await app.register(gatehouse, c).ready() }, /routes\[1\]\.mirror\.upstream: unknown upstream "gone"/)
})

t.test('the README\'s Mirroring example is a valid config', async t => {
  const { readmeBlock } = await import('../readme')
  const config = normalizeConfig(JSON.parse(readmeBlock('Mirroring', 'json')), { env: {} })
  t.same(config.routes[0].mirror, { upstream: 'api-next', percent: 10, maxBodySize: 65536, maxInFlight: 100 })
})
