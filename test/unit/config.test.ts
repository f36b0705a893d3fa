import t from 'tap'
import { normalizeConfig, DEFAULT_LIMITS, DEFAULT_QUEUE_TIMEOUT, DEFAULT_TUNNEL_IDLE_TIMEOUT, loadConfigFile } from '../../lib/config'
import { exportConfig, REDACTED } from '../../lib/config/export'
import { ConfigSchema, RouteSchema, UpstreamSchema, type GatehouseConfig } from '../../lib/config/schema'
import type { NormalizedConfig } from '../../lib/config/types'
import { makeCerts } from '../tls/certs'
import { routeCompress } from '../../lib/config/normalize/compress'
import { routeTableChanged } from '../../lib/http/route-table'
import { parseDuration } from '../../lib/config/duration'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import gatehouse from '../../app'
import { CLIENT_WRITE_BUFFER } from '../../lib/http/server-options'

/** The message of the ConfigError a config is refused with; fails the test when it is accepted. */
function messageOf (config: unknown): string {
  try {
    normalizeConfig(config, { env: {} })
  } catch (err) {
    t.equal((err as { code: string }).code, 'GH_CONFIG_INVALID')
    return (err as Error).message
  }
  throw new Error('config was accepted')
}

t.test('export', async t => {
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
          tls: { ca: 'ca.pem', servername: 'api.internal', cert: 'client.pem', key: 'client-key.pem' },
          proxyProtocol: 'v2',
          protocol: 'h2'
        },
        web: {
          servers: [{ url: 'http://127.0.0.1:9001', weight: 2, slowStart: '5s' }, { url: 'http://127.0.0.1:9002', id: 'spare', backup: true }, { url: 'http://web.internal:9003', resolve: true }],
          resolve: true,
          resolveInterval: '10s',
          sticky: { ttl: '1h' },
          cache: false,
          compress: { types: ['Text/HTML'] }
        }
      },
      routes: [
        {
          name: 'api',
          match: { path: '/api/*', host: 'API.example.com', methods: ['GET', 'POST'] },
          upstream: 'api',
          stripPrefix: '/api',
          rateLimit: { max: 5 },
          filters: { deny: ['10.0.0.0/8'], basicAuth: false, maxBodySize: '1KB' },
          requestHeaders: { set: { 'X-From': '{host}' } },
          cache: { lockTimeout: '2s' },
          compress: { threshold: '2KB', encodings: ['gzip'] },
          grpcWeb: true
        },
        { match: { path: '/*' }, upstream: 'web', rateLimit: false, cache: false, compress: false, responseHeaders: { remove: ['Server'] }, mirror: { upstream: 'api', percent: 12.5, maxBodySize: '8KB', maxInFlight: 10 } },
        { match: { path: '/*', headers: { 'X-Canary': '1', 'x-tier': ['a', 'b'] }, cookies: { beta: { present: true } }, query: { v: { regex: '[0-9]+' } } }, upstream: 'api' },
        { match: { path: '/old/*' }, redirect: { to: 'https://{host}/new{path}', status: 301 } },
        { match: { path: '/split/*' }, upstream: [{ name: 'web', weight: 95 }, { name: 'api', weight: 5 }] }
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
      dns: { servers: ['127.0.0.53', '[::1]:5353'] },
      accessLog: { format: '$remote_addr $status $http_x_api_key', fields: ['status', 'url'], redact: { query: true, headers: ['X-Api-Key'] }, errorsOnly: false, sampleRatio: 0.5, destination: 'access.log' },
      tracing: { endpoint: 'https://otel:trace-pass@collector.internal:4318/v1/traces', serviceName: 'edge', sampleRatio: 0.25, headers: { 'x-api-key': 'trace-key' }, batchDelay: '1s', exportTimeout: '2s' },
      listen: {
        tls: { cert: 'front.pem', key: 'front-key.pem', sni: { 'API.example.com': { cert: 'other.pem', key: 'other-key.pem' } }, minVersion: 'TLSv1.3' },
        http2: true,
        redirectHttp: 0,
        proxyProtocol: { from: ['10.0.0.0/8', '2001:db8::1'] }
      }
    }
  }

  /** What an operator does before saving GET /config to the file: the redacted secrets put back. */
  function withSecrets (exported: GatehouseConfig): GatehouseConfig {
    const out = structuredClone(exported)
    out.cookieSecret = SECRET
    out.admin = { ...out.admin!, token: TOKEN, sync: 'redis://:sync-pass@127.0.0.1:1' }
    out.rateLimit = { ...out.rateLimit!, redis: 'redis://:redis-pass@127.0.0.1:1' }
    out.tracing = { ...out.tracing!, endpoint: 'https://otel:trace-pass@collector.internal:4318/v1/traces', headers: { 'x-api-key': 'trace-key' } }
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

    t.same(out.routes[4].upstream, [{ name: 'web', weight: 95 }, { name: 'api', weight: 5 }], 'a split exports as the list it was written as')
    t.same(out.routes[3], { match: { path: '/old/*' }, redirect: { to: 'https://{host}/new{path}', status: 301 } }, 'a redirect route has no upstream key')
    t.same(out.routes[0].filters, { deny: ['10.0.0.0/8'], basicAuth: false, maxBodySize: 1024 }, 'the route\'s own filters, size in bytes')
    t.same(out.upstreams.api.tls, { ca: `${certs.dir}/ca.pem`, cert: `${certs.dir}/client.pem`, key: `${certs.dir}/client-key.pem`, servername: 'api.internal', rejectUnauthorized: true })
    t.same(out.upstreams.api.timeouts, { connect: 2000, response: 30000, queue: 1000, tunnelIdle: 600000 }, 'durations in ms')
    t.same(out.cache, { maxSize: 64 * 1024 ** 2, maxEntrySize: 1024 ** 2 })
    t.same(out.listen, {
      http2: true,
      redirectHttp: 0,
      proxyProtocol: { from: ['10.0.0.0/8', '2001:db8::1'] },
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
    for (const secret of [SECRET, TOKEN, HASH, 'redis-pass', 'sync-pass', 'trace-pass', 'trace-key', 'BEGIN']) t.notOk(text.includes(secret), `no ${secret.slice(0, 12)}… in the export`)
    t.same(out.filters?.basicAuth, { realm: 'gatehouse', users: { alice: REDACTED }, passAuthorization: false }, 'user names stay, hashes go, defaults written out')
    t.equal(out.admin?.token, REDACTED)
    t.equal(out.cookieSecret, REDACTED)
    t.same(out.tracing?.headers, { 'x-api-key': REDACTED }, 'a collector header keeps its name, not its value')
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
})

t.test('compress', async t => {
  const base = (): any => ({
    upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] }, web: { servers: [{ url: 'http://127.0.0.1:9002' }] } },
    routes: [
      { match: { path: '/a/*' }, upstream: 'api' },
      { match: { path: '/b/*' }, upstream: 'api' },
      { match: { path: '/c/*' }, upstream: 'web' }
    ]
  })

  t.test('bad compress settings fail at start, each named by its path', async t => {
    const cases: Array<[string, (c: any) => void, RegExp]> = [
      ['unknown coding', c => { c.compress = { encodings: ['zstd'] } }, /^ {2}compress\.encodings\[0\]: must be one of "br", "gzip", "deflate" \(got "zstd"\)$/m],
      ['duplicate coding', c => { c.compress = { encodings: ['br', 'gzip', 'br'] } }, /^ {2}compress\.encodings\[2\]: "br" is already listed at compress\.encodings\[0\]$/m],
      ['no coding', c => { c.compress = { encodings: [] } }, /^ {2}compress\.encodings: must name at least one of "br", "gzip", "deflate"$/m],
      ['coding not a string', c => { c.compress = { encodings: [5] } }, /^ {2}compress\.encodings\[0\]: must be string$/m],
      ['negative threshold on a route', c => { c.routes[1].compress = { threshold: -1 } }, /^ {2}routes\[1\]\.compress\.threshold: must be a size/m],
      ['threshold with a space', c => { c.compress = { threshold: '1 KB' } }, /^ {2}compress\.threshold: must be a size: .* \(got "1 KB"\)$/m],
      ['unknown key on an upstream', c => { c.upstreams.web.compress = { level: 9 } }, /^ {2}upstreams\.web\.compress\.level: unknown key/m],
      ['true', c => { c.routes[0].compress = true }, /^ {2}routes\[0\]\.compress: must be false, or an object with any of threshold, encodings and types \(got true\)$/m],
      ['bad media type', c => { c.compress = { types: ['text/html; charset=utf-8'] } }, /^ {2}compress\.types\[0\]: must be a media type such as "text\/html" or "text\/\*", without parameters/m],
      ['bad coding on an upstream', c => { c.upstreams.api.compress = { encodings: ['gzip', 'lz4'] } }, /^ {2}upstreams\.api\.compress\.encodings\[1\]: must be one of/m]
    ]
    for (const [name, mutate, expected] of cases) {
      const c = base()
      mutate(c)
      const message = messageOf(c)
      t.match(message, expected, name)
      t.equal(message.split('\n').length, 2, `${name}: one problem, one line`)
    }
  })

  t.test('route over upstream over top level, key by key; false turns it off', async t => {
    const c = base()
    c.compress = { threshold: '2KB', encodings: ['gzip'] }
    c.upstreams.web.compress = false
    c.routes[1].compress = { threshold: 10 }
    const config = normalizeConfig(c, { env: {} })
    t.same(routeCompress(config, config.routes[0]), { threshold: 2048, encodings: ['gzip'] }, 'the top level\'s')
    t.same(routeCompress(config, config.routes[1]), { threshold: 10, encodings: ['gzip'] }, 'the route\'s threshold, the top\'s encodings')
    t.equal(routeCompress(config, config.routes[2]), undefined, 'off on the upstream')

    const d = base()
    d.upstreams.api.compress = { types: ['TEXT/HTML'] }
    d.routes[1].compress = false
    d.routes[2].compress = {}
    const on = normalizeConfig(d, { env: {} })
    t.same(routeCompress(on, on.routes[0]), { threshold: 1024, encodings: ['br', 'gzip'], types: ['text/html'] }, 'the upstream turns it on, with defaults, types lower-cased')
    t.equal(routeCompress(on, on.routes[1]), undefined, 'false on the route wins')
    t.same(routeCompress(on, on.routes[2]), { threshold: 1024, encodings: ['br', 'gzip'] }, '{} on a route: the defaults')

    const off = normalizeConfig(base(), { env: {} })
    t.equal(off.compress, undefined, 'off by default')
    t.ok(off.routes.every(r => routeCompress(off, r) === undefined))
    const top = base()
    top.compress = false
    t.equal(normalizeConfig(top, { env: {} }).compress, undefined, 'false at the top: the same as none')
  })

  t.test('the cache\'s false-or-object union reports an unknown key by its path too', async t => {
    const c = base()
    c.routes[2].cache = { maxEntrySzie: '1MB' }
    const message = messageOf(c)
    t.match(message, /^ {2}routes\[2\]\.cache\.maxEntrySzie: unknown key \(check its spelling\)$/m)
    t.equal(message.split('\n').length, 2, 'and nothing else')
  })

  t.test('a route\'s compress settings are part of the route table: a reload that changes them asks for a restart', async t => {
    const a = base()
    const b = base()
    b.routes[0].compress = { threshold: 10 }
    const c = base()
    c.compress = {}
    t.ok(routeTableChanged(normalizeConfig(a, { env: {} }).routes, normalizeConfig(b, { env: {} }).routes))
    t.notOk(routeTableChanged(normalizeConfig(a, { env: {} }).routes, normalizeConfig(c, { env: {} }).routes), 'the top level\'s is not (fixed at start, as the cache\'s)')
  })
})

t.test('durations', async t => {
  // A duration goes through the schema (which refuses a bad shape, naming the field) and then
  // parseDuration; both are checked here through normalizeConfig, as a config file is.
  const withConnect = (connect: unknown) => ({
    upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }], timeouts: { connect } } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })

  const connectOf = (value: unknown) => normalizeConfig(withConnect(value), { env: {} }).upstreams.get('api')?.timeouts.connect

  t.test('accepted forms and their value in milliseconds', async t => {
    const cases: Array<[number | string, number]> = [
      [1500, 1500],
      [0, 0],
      ['1500', 1500],
      ['500ms', 500],
      ['1.5s', 1500],
      ['2m', 120_000],
      ['1h', 3_600_000],
      ['1d', 86_400_000],
      ['1h30m', 5_400_000],
      ['1m30s', 90_000],
      ['1d2h3m4s5ms', 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5],
      ['1s500ms', 1500],
      ['0.5d', 43_200_000]
    ]
    for (const [value, expected] of cases) {
      t.equal(parseDuration(value), expected, `parseDuration(${JSON.stringify(value)})`)
      t.equal(connectOf(value), expected, `config ${JSON.stringify(value)}`)
    }
  })

  t.test('refused forms: spaces anywhere, unknown or repeated units, wrong order, empty', async t => {
    const refused = ['2 s', ' 2s', '2s ', '1h 30m', '', ' ', '2x', '2sec', 'ms', '1m1h', '1s1s', '-1s', '1.s', '.5s', '1,5s', '2S']
    for (const value of refused) {
      t.throws(() => parseDuration(value), /not a duration/, `parseDuration(${JSON.stringify(value)})`)
      t.throws(() => connectOf(value), /upstreams\.api\.timeouts\.connect: must be a duration/, `config ${JSON.stringify(value)}`)
    }
  })
})

t.test('filters', async t => {
  const base = { upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] } } }
  const HASH = '$2b$04$abcdefghijklmnopqrstuuWVZ3m5kqfUMBgRIvGnYBk1n6GXshVz.'

  function problems (config: unknown): string[] {
    try {
      normalizeConfig(config)
    } catch (err) {
      return (err as Error).message.split('\n  ').slice(1)
    }
    return []
  }

  t.test('bad filters are named by their field', async t => {
    t.same(problems({
      ...base,
      routes: [
        { match: { path: '/a' }, upstream: 'api' },
        { match: { path: '/b' }, upstream: 'api' },
        {
          match: { path: '/c' },
          upstream: 'api',
          filters: { allow: ['10.0.0.0/8', '10.0.0.300'], deny: ['10.1/16', '::1/129'], basicAuth: { users: { alice: 'plain', 'b:c': HASH } }, requireHeaders: { 'bad name': true } },
          requestHeaders: { set: { Host: 'x', 'x-ok': 'a\nb' }, add: { 'Transfer-Encoding': 'gzip' }, remove: ['connection'] },
          responseHeaders: { set: { 'x-a': '{hots}' } }
        }
      ]
    }), [
      'routes[2].filters.allow[1]: not an IP address or CIDR (got "10.0.0.300")',
      'routes[2].filters.deny[0]: not an IP address or CIDR (got "10.1/16")',
      'routes[2].filters.deny[1]: not an IP address or CIDR (got "::1/129")',
      'routes[2].filters.requireHeaders.bad name: not a valid header name',
      'routes[2].filters.basicAuth.users.alice: not a bcrypt hash ($2a$, $2b$ or $2y$, as `htpasswd -nbB user password` writes)',
      'routes[2].filters.basicAuth.users.b:c: a user name must be non-empty and without ":"',
      'routes[2].requestHeaders.set.Host: a hop-by-hop header, host or content-length cannot be changed by a rule',
      'routes[2].requestHeaders.set.x-ok: a header value cannot hold CR, LF or NUL',
      'routes[2].requestHeaders.add.Transfer-Encoding: a hop-by-hop header, host or content-length cannot be changed by a rule',
      'routes[2].requestHeaders.remove[0]: a hop-by-hop header, host or content-length cannot be changed by a rule',
      'routes[2].responseHeaders.set.x-a: unknown placeholder {hots} (known: {host}, {path}, {query}, {clientIp}, {requestId})'
    ])
  })

  t.test('top-level defaults are checked once, under their own path', async t => {
    t.same(problems({ ...base, filters: { allow: ['nope'] }, routes: [{ match: { path: '/a' }, upstream: 'api' }, { match: { path: '/b' }, upstream: 'api' }] }),
      ['filters.allow[0]: not an IP address or CIDR (got "nope")'])
  })

  t.test('redirect routes: no upstream needed; one of the two required; not both', async t => {
    t.same(problems({ ...base, routes: [{ match: { path: '/a' }, redirect: { to: '/b', status: 301 } }] }), [])
    t.same(problems({ ...base, routes: [{ match: { path: '/a' } }] }), ['routes[0].upstream: required (or a redirect)'])
    t.same(problems({ ...base, routes: [{ match: { path: '/a' }, upstream: 'api', redirect: { to: '/b' } }] }), ['routes[0].redirect: a redirect route answers itself and takes no upstream'])
    t.match(problems({ ...base, routes: [{ match: { path: '/a' }, redirect: { to: '/b', status: 303 } }] }), [/^routes\[0\]\.redirect\.status: /])
    t.match(problems({ ...base, routes: [{ match: { path: '/a' }, upstream: 'api', filters: { maxBodySize: '10 MB' } }] }), [/^routes\[0\]\.filters\.maxBodySize: must be a size/])
    t.match(problems({ ...base, routes: [{ match: { path: '/a' }, upstream: 'api', filters: { alow: [] } }] }), ['routes[0].filters.alow: unknown key (check its spelling)'])
  })

  t.test('a route overrides the defaults key by key, and can turn one off', async t => {
    const config = normalizeConfig({
      ...base,
      filters: { deny: ['10.0.0.0/8'], maxBodySize: '1MB', methods: ['GET'] },
      requestHeaders: { set: { 'x-env': 'prod' } },
      routes: [
        { match: { path: '/a' }, upstream: 'api' },
        { match: { path: '/b' }, upstream: 'api', filters: { maxBodySize: false, methods: ['GET', 'POST'], deny: [] }, requestHeaders: {} }
      ]
    })
    t.same(config.routes[0].filters, { deny: ['10.0.0.0/8'], methods: ['GET'], maxBodySize: 1024 * 1024 })
    t.same(config.routes[0].requestHeaders, { set: [['x-env', 'prod']], add: [], remove: [] })
    t.same(config.routes[1].filters, { methods: ['GET', 'POST'] })
    t.equal(config.routes[1].requestHeaders, undefined)
  })
})

t.test('limits', async t => {
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
})

t.test('tls', async t => {
  const base = {
    upstreams: { u: { servers: [{ url: 'https://127.0.0.1:9443' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }

  function problems (config: unknown, baseDir: string): string {
    try {
      normalizeConfig(config, { baseDir })
    } catch (err) {
      return (err as Error).message
    }
    return 'no error'
  }

  t.test('config validation names a missing certificate file, a key that is not the certificate\'s, and an sni name that is not a host name', async t => {
    const certs = makeCerts(t)
    certs.leaf('a', 'a.test', ['a.test'])
    certs.leaf('b', 'b.test', ['b.test'])
    const msg = problems({
      ...base,
      listen: {
        tls: {
          cert: 'missing.pem',
          key: 'a-key.pem',
          sni: {
            'b.test': { cert: 'b.pem', key: 'a-key.pem' },
            'not a host': { cert: 'b.pem', key: 'b-key.pem' },
            'a.*.test': { cert: 'b.pem', key: 'b-key.pem' }
          }
        }
      }
    }, certs.dir)
    t.match(msg, `listen.tls.cert: cannot read ${join(certs.dir, 'missing.pem')}: no such file`)
    t.match(msg, `listen.tls.sni["b.test"].key: ${join(certs.dir, 'a-key.pem')} is not the private key of ${join(certs.dir, 'b.pem')}`)
    t.match(msg, 'listen.tls.sni["not a host"]: not a host name')
    t.match(msg, 'listen.tls.sni["a.*.test"]: not a host name')

    const up = problems({ ...base, upstreams: { u: { servers: [{ url: 'https://127.0.0.1:9443' }], tls: { ca: 'nope.pem', cert: 'a.pem' } } } }, certs.dir)
    t.match(up, 'upstreams.u.tls.ca: cannot read')
    t.match(up, 'upstreams.u.tls: cert and key go together')
    const shared = { servers: [{ url: 'https://127.0.0.1:9443' }] }
    t.equal(problems({ ...base, upstreams: { u: shared, v: { ...shared, tls: { servername: 'x.internal' } } } }, certs.dir),
      'no error', 'one server in two groups with other tls settings: a pool for each (test/tls/shared-backend.test.ts)')
    t.match(problems({ ...base, listen: { http2: true } }, certs.dir), 'listen.http2: needs listen.tls')
    t.match(problems({ ...base, listen: { tls: { cert: 'a.pem', key: 'a-key.pem', minVersion: 'TLSv1.1' } } }, certs.dir), 'listen.tls.minVersion')
    t.equal(problems({ ...base, listen: { tls: { cert: 'a.pem', key: 'a-key.pem' }, http2: true } }, certs.dir), 'no error')
  })

  t.test('paths are relative to the config file; serverOptions gives https and http2 with HTTP/1.1 allowed', async t => {
    const certs = makeCerts(t)
    const a = certs.leaf('a', 'a.test', ['a.test'])
    const file = join(certs.dir, 'gatehouse.json')
    const config = { ...base, listen: { tls: { cert: 'a.pem', key: 'a-key.pem' }, http2: true } }
    writeFileSync(file, JSON.stringify(config))
    const loaded = loadConfigFile(file)
    t.equal(loaded.listen.tls?.certFile, a.cert, 'read next to the config file, whatever the working directory')
    const options = gatehouse.serverOptions(config, { baseDir: certs.dir })
    t.equal(options.http2, true)
    t.equal(options.https?.allowHTTP1, true)
    t.equal(options.https?.cert, a.pem())
    t.same(gatehouse.serverOptions(base), { http: { highWaterMark: CLIENT_WRITE_BUFFER } }, 'no listen.tls: only the client write buffer')
    t.throws(() => gatehouse.serverOptions(config), /cannot read/, 'relative to the working directory without baseDir')
  })
})

t.test('validation', async t => {
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
})

t.test('listen.proxyProtocol', async t => {
  const base = (from: string[]): unknown => ({
    upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9001' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { proxyProtocol: { from } }
  })
  t.throws(() => normalizeConfig(base(['10.0.0.0/8', '10.1'])), /listen\.proxyProtocol\.from\[1\]: not an IP address or CIDR \(got "10\.1"\)/)
  t.throws(() => normalizeConfig(base([])), /listen\.proxyProtocol\.from/)
  t.same(normalizeConfig(base(['127.0.0.1'])).listen.proxyProtocol, { from: ['127.0.0.1'] })
  t.equal(normalizeConfig({ upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9001' }] } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }).listen.proxyProtocol, undefined, 'off by default')
})

t.test('servers from DNS: resolve, resolveInterval and dns.servers', async t => {
  const base = (up: Record<string, unknown>, top: Record<string, unknown> = {}): unknown => ({
    upstreams: { u: { servers: [{ url: 'http://api.internal:9001' }, { url: 'http://10.0.0.1:9001' }], ...up } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    ...top
  })
  const servers = normalizeConfig(base({ resolve: true })).upstreams.get('u')?.servers
  t.same(servers?.map(s => s.resolve), [true, undefined], 'a group\'s resolve applies to the servers named by a host name only')
  t.equal(normalizeConfig(base({})).upstreams.get('u')?.resolveInterval, 30_000, 'resolveInterval defaults to 30 s')
  t.same(normalizeConfig(base({})).dns, { servers: [] }, 'no dns.servers: the system resolver')
  t.throws(() => normalizeConfig(base({ resolveInterval: '500ms' })), /upstreams\.u\.resolveInterval: must be at least 1000 ms/)
  t.throws(() => normalizeConfig({ upstreams: { u: { servers: [{ url: 'http://10.0.0.1:9001', resolve: true }] } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }),
    /upstreams\.u\.servers\[0\]\.resolve: the url names an address, not a host name/)
  t.throws(() => normalizeConfig(base({}, { dns: { servers: ['10.0.0.2', 'dns.example:53', '10.0.0.3:99999'] } })),
    /dns\.servers\[1\]: not an address or address:port[^\n]*\n {2}dns\.servers\[2\]: not an address/)
  t.same(normalizeConfig(base({}, { dns: { servers: ['10.0.0.2', '10.0.0.2:5353', '[2001:db8::2]:53'] } })).dns.servers, ['10.0.0.2', '10.0.0.2:5353', '[2001:db8::2]:53'])
  t.throws(() => normalizeConfig(base({ proxyProtocol: 'v3' })), /upstreams\.u\.proxyProtocol/)
})

t.test('upstreams.NAME.protocol', async t => {
  const base = (protocol: unknown, url = 'http://127.0.0.1:9001') => ({ upstreams: { u: { servers: [{ url }], protocol } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }) as unknown as GatehouseConfig
  t.equal(normalizeConfig({ upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9001' }] } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }).upstreams.get('u')?.protocol, 'http/1.1', 'HTTP/1.1 by default')
  t.equal(normalizeConfig(base('h2c')).upstreams.get('u')?.protocol, 'h2c')
  t.equal(normalizeConfig(base('h2', 'https://127.0.0.1:9443')).upstreams.get('u')?.protocol, 'h2')
  t.throws(() => normalizeConfig(base('h3')), /upstreams\.u\.protocol/)
  t.throws(() => normalizeConfig(base('h2')), /upstreams\.u\.protocol: "h2" needs https:\/\/ servers \(servers\[0\] is "http:\/\/127\.0\.0\.1:9001"\)/)
  t.throws(() => normalizeConfig(base('h2c', 'https://127.0.0.1:9443')), /upstreams\.u\.protocol: "h2c" needs http:\/\/ servers/)
})
