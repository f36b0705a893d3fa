import t from 'tap'
import { normalizeConfig } from '../../../lib/config'

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
