import t from 'tap'
import { normalizeConfig } from '../../../lib/config'
import { exportConfig, REDACTED } from '../../../lib/config/export'
import { ConfigSchema, RouteSchema, UpstreamSchema, type GatehouseConfig } from '../../../lib/config/schema'
import type { NormalizedConfig } from '../../../lib/config/types'
import { makeCerts } from '../../tls/certs'

const SECRET = 'a-cookie-secret-that-is-long-enough-123'
const TOKEN = 'an-admin-token-long-enough-42'
const HASH = '$2b$04$abcdefghijklmnopqrstuuWVZ3m5kqfUMBgRIvGnYBk1n6GXshVz.'

/** Every key of the schema at the top level, on a route and on an upstream; paths relative to the certs' dir. */
function fullConfig (): GatehouseConfig {
  return {
    upstreams: {
      api: {
        balance: 'hash',
        hashKey: 'ip',
        servers: [{ url: 'https://127.0.0.1:9443' }],
        timeouts: { connect: '2s', response: '30s', queue: '1s', tunnelIdle: '10m' },
        preserveHost: false,
        connections: 8,
        retries: 1,
        retryBudget: 0.5,
        passive: { maxFails: 5, maxEjectionPercent: 100 },
        slowStart: '30s',
        healthCheck: { path: '/up', interval: '5s' },
        cache: { staleIfError: '1m' },
        compress: false,
        tls: { ca: 'ca.pem', servername: 'api.internal', cert: 'client.pem', key: 'client-key.pem' }
      },
      web: {
        servers: [{ url: 'http://127.0.0.1:9001', weight: 2, slowStart: '5s' }, { url: 'http://127.0.0.1:9002', id: 'spare', backup: true }],
        sticky: { ttl: '1h' },
        cache: false,
        compress: { types: ['Text/HTML'] }
      }
    },
    routes: [
      {
        match: { path: '/api/*', host: 'API.example.com', methods: ['GET', 'POST'] },
        upstream: 'api',
        stripPrefix: '/api',
        rateLimit: { max: 5 },
        filters: { deny: ['10.0.0.0/8'], basicAuth: false, maxBodySize: '1KB' },
        requestHeaders: { set: { 'X-From': '{host}' } },
        cache: { lockTimeout: '2s' },
        compress: { threshold: '2KB', encodings: ['gzip'] }
      },
      { match: { path: '/*' }, upstream: 'web', rateLimit: false, cache: false, compress: false, responseHeaders: { remove: ['Server'] } },
      { match: { path: '/old/*' }, redirect: { to: 'https://{host}/new{path}', status: 301 } }
    ],
    filters: { allow: ['127.0.0.1', '::1'], requireHeaders: { 'X-Key': true }, basicAuth: { users: { alice: HASH } } },
    requestHeaders: { add: { 'x-gw': '1' } },
    responseHeaders: { set: { 'x-served-by': 'gatehouse' } },
    cache: { maxSize: '64MB', maxEntrySize: '1MB' },
    compress: { threshold: 512 },
    rateLimit: { max: 100, timeWindow: '1m', redis: 'redis://:redis-pass@127.0.0.1:1' },
    cookieSecret: SECRET,
    retryBodyLimit: 1024,
    drainTimeout: '5s',
    handleSignals: false,
    admin: { port: 0, token: TOKEN, hosts: ['GW.example.com'], sync: 'redis://:sync-pass@127.0.0.1:1', sessionTtl: '8h' },
    limits: { sendTimeout: '30s', maxConnections: 50 },
    watch: true,
    workers: 2,
    listen: {
      tls: { cert: 'front.pem', key: 'front-key.pem', sni: { 'API.example.com': { cert: 'other.pem', key: 'other-key.pem' } }, minVersion: 'TLSv1.3' },
      http2: true,
      redirectHttp: 0
    }
  }
}

/** What an operator does before saving GET /config to the file: the redacted secrets put back. */
function withSecrets (exported: GatehouseConfig): GatehouseConfig {
  const out = structuredClone(exported)
  out.cookieSecret = SECRET
  out.admin = { ...out.admin!, token: TOKEN, sync: 'redis://:sync-pass@127.0.0.1:1' }
  out.rateLimit = { ...out.rateLimit!, redis: 'redis://:redis-pass@127.0.0.1:1' }
  const auth = out.filters?.basicAuth
  if (auth !== undefined && auth !== false) auth.users = { alice: HASH }
  return out
}

function exported (config: NormalizedConfig): GatehouseConfig {
  // Through JSON, as GET /config sends it.
  return JSON.parse(JSON.stringify(exportConfig(config, [...config.upstreams.values()])))
}

t.test('the export of a config using every key loads back to the same effective config', async t => {
  const certs = makeCerts(t)
  certs.leaf('front', 'localhost', ['localhost', '127.0.0.1'])
  certs.leaf('other', 'api.example.com', ['api.example.com'])
  certs.leaf('client', 'gatehouse', ['gatehouse'], { clientAuth: true })
  const original = normalizeConfig(fullConfig(), { env: {}, baseDir: certs.dir })
  const out = exported(original)

  // Certificate paths come out absolute, so the file loads from any directory.
  const again = normalizeConfig(withSecrets(out), { env: {}, baseDir: '/' })
  // `written` differs only in spelling (sizes in bytes, basic auth's defaults written out).
  const { written: _w1, baseDir: _b1, ...effective } = original
  const { written: _w2, baseDir: _b2, ...effectiveAgain } = again
  t.strictSame(effectiveAgain, effective, 'the same normalized config, routes\' merged filters and header rules included')
  t.strictSame(exported(again), out, 'exporting again gives the same file')
  t.notOk('filters' in out.routes[1], 'the top level\'s filters are not copied into the routes that inherit them')

  t.same(out.routes[2], { match: { path: '/old/*' }, redirect: { to: 'https://{host}/new{path}', status: 301 } }, 'a redirect route has no upstream key')
  t.same(out.routes[0].filters, { deny: ['10.0.0.0/8'], basicAuth: false, maxBodySize: 1024 }, 'the route\'s own filters, size in bytes')
  t.same(out.upstreams.api.tls, { ca: `${certs.dir}/ca.pem`, cert: `${certs.dir}/client.pem`, key: `${certs.dir}/client-key.pem`, servername: 'api.internal', rejectUnauthorized: true })
  t.same(out.upstreams.api.timeouts, { connect: 2000, response: 30000, queue: 1000, tunnelIdle: 600000 }, 'durations in ms')
  t.same(out.cache, { maxSize: 64 * 1024 ** 2, maxEntrySize: 1024 ** 2 })
  t.same(out.listen, {
    http2: true,
    redirectHttp: 0,
    tls: { cert: `${certs.dir}/front.pem`, key: `${certs.dir}/front-key.pem`, sni: { 'api.example.com': { cert: `${certs.dir}/other.pem`, key: `${certs.dir}/other-key.pem` } }, minVersion: 'TLSv1.3' }
  })
})

t.test('secrets are redacted; PEM text never leaves', async t => {
  const certs = makeCerts(t)
  certs.leaf('front', 'localhost', ['localhost'])
  certs.leaf('other', 'api.example.com', ['api.example.com'])
  certs.leaf('client', 'gatehouse', ['gatehouse'], { clientAuth: true })
  const out = exported(normalizeConfig(fullConfig(), { env: {}, baseDir: certs.dir }))
  const text = JSON.stringify(out)
  for (const secret of [SECRET, TOKEN, HASH, 'redis-pass', 'sync-pass', 'BEGIN']) t.notOk(text.includes(secret), `no ${secret.slice(0, 12)}… in the export`)
  t.same(out.filters?.basicAuth, { realm: 'gatehouse', users: { alice: REDACTED }, passAuthorization: false }, 'user names stay, hashes go, defaults written out')
  t.equal(out.admin?.token, REDACTED)
  t.equal(out.cookieSecret, REDACTED)
})

t.test('every schema key a config uses is in its export', async t => {
  const certs = makeCerts(t)
  certs.leaf('front', 'localhost', ['localhost'])
  certs.leaf('other', 'api.example.com', ['api.example.com'])
  certs.leaf('client', 'gatehouse', ['gatehouse'], { clientAuth: true })
  const config = fullConfig()
  const out = exported(normalizeConfig(config, { env: {}, baseDir: certs.dir }))
  const used = (objects: object[]): string[] => [...new Set(objects.flatMap(o => Object.keys(o)))].sort()
  // A key added to the schema fails here until fullConfig uses it, and then until the export has it.
  t.same(used([config]), Object.keys(ConfigSchema.properties).sort(), 'fullConfig uses every top-level key')
  t.same(used(config.routes), Object.keys(RouteSchema.properties).sort(), 'and every route key')
  t.same(used(Object.values(config.upstreams)), Object.keys(UpstreamSchema.properties).sort(), 'and every upstream key')
  t.same(used([out]), used([config]))
  config.routes.forEach((r, i) => t.same(Object.keys(out.routes[i]).sort(), Object.keys(r).sort(), `routes[${i}]`))
  for (const [name, up] of Object.entries(config.upstreams)) {
    // Defaults are written out, so the export has at least the keys given.
    t.same(Object.keys(up).filter(k => !(k in out.upstreams[name])), [], `upstreams.${name}`)
  }
})

t.test('top-level cache and compress set to false are left out, which loads the same', async t => {
  const config: GatehouseConfig = {
    upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9001' }], cache: {}, compress: {} } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    cache: false,
    compress: false
  }
  const original = normalizeConfig(config, { env: {} })
  const out = exported(original)
  t.notOk('cache' in out)
  t.notOk('compress' in out)
  t.same(out.upstreams.u.cache, {})
  const { written: _w1, ...a } = original
  const { written: _w2, ...b } = normalizeConfig(out, { env: {} })
  t.strictSame(b, a)
})
