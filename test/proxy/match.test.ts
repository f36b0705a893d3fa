import t from 'tap'
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import gatehouse from '../../app'
import { normalizeConfig } from '../../lib/config'
import type { GatehouseConfig } from '../../lib/config'
import { startBackend, startGateway, call } from '../helper'
import { h2Request, startH2Gateway } from '../hostile/h2'
import { readmeBlock } from '../readme'

const backendOf = async (url: string, headers?: Record<string, string>): Promise<string> => String((await call(url, { headers })).headers['x-backend'])

t.test('a header-matched canary: x-canary: 1 goes to v2, everything else to v1', async t => {
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const gw = await startGateway(t, {
    upstreams: { v1: { servers: [{ url: v1.url }] }, v2: { servers: [{ url: v2.url }] } },
    routes: [
      { match: { path: '/api/*' }, upstream: 'v1' },
      { match: { path: '/api/*', headers: { 'X-Canary': '1' } }, upstream: 'v2' }
    ]
  })
  t.equal(await backendOf(`${gw.url}/api/a`), 'v1', 'no header')
  t.equal(await backendOf(`${gw.url}/api/a`, { 'x-canary': '1' }), 'v2', 'the header')
  t.equal(await backendOf(`${gw.url}/api/a`, { 'X-CANARY': '1' }), 'v2', 'header names are case-insensitive')
  t.equal(await backendOf(`${gw.url}/api/a`, { 'x-canary': '2' }), 'v1', 'another value')
  t.equal(await backendOf(`${gw.url}/api/a`, { 'x-canary': '1 ' }), 'v2', 'Node trims the field value, as RFC 9110 says')
  t.equal(v2.hits[0].headers['x-canary'], '1', 'the header goes on to the backend')
  t.equal((await call(`${gw.url}/other`, { headers: { 'x-canary': '1' } })).status, 404, 'conditions never widen the path')
})

t.test('cookie and query conditions: exact names, any of a list, all must hold', async t => {
  const v1 = await startBackend(t, 'v1')
  const beta = await startBackend(t, 'beta')
  const both = await startBackend(t, 'both')
  const gw = await startGateway(t, {
    upstreams: { v1: { servers: [{ url: v1.url }] }, beta: { servers: [{ url: beta.url }] }, both: { servers: [{ url: both.url }] } },
    routes: [
      { match: { path: '/*' }, upstream: 'v1' },
      { match: { path: '/*', cookies: { beta: '1' } }, upstream: 'beta' },
      { match: { path: '/*', query: { version: ['2', 'next'] } }, upstream: 'beta' },
      { match: { path: '/*', cookies: { beta: '1' }, query: { version: 'next' } }, upstream: 'both' }
    ]
  })
  t.equal(await backendOf(`${gw.url}/x`, { cookie: 'a=b; beta=1' }), 'beta', 'the cookie among others')
  t.equal(await backendOf(`${gw.url}/x`, { cookie: 'Beta=1' }), 'v1', 'cookie names are exact')
  t.equal(await backendOf(`${gw.url}/x`, { cookie: 'beta=0' }), 'v1')
  t.equal(await backendOf(`${gw.url}/x`, { 'x-beta': '1' }), 'v1')
  t.equal(await backendOf(`${gw.url}/x?version=2`), 'beta', 'one of the list')
  t.equal(await backendOf(`${gw.url}/x?a=1&version=next`), 'beta', 'another of the list')
  t.equal(await backendOf(`${gw.url}/x?Version=2`), 'v1', 'query names are exact')
  t.equal(await backendOf(`${gw.url}/x?version=3`), 'v1')
  t.equal(await backendOf(`${gw.url}/x?version=%32`), 'beta', 'values are percent-decoded')
  t.equal(await backendOf(`${gw.url}/x?version=3&version=2`), 'beta', 'a repeated parameter holds when any value does')
  t.equal(await backendOf(`${gw.url}/x?version=next`, { cookie: 'beta=1' }), 'both', 'both conditions: the route with both')
  t.equal(await backendOf(`${gw.url}/x?version=2`, { cookie: 'beta=1' }), 'beta', 'one of two: not that route')
})

t.test('regex (anchored) and presence conditions', async t => {
  const v1 = await startBackend(t, 'v1')
  const mobile = await startBackend(t, 'mobile')
  const keyed = await startBackend(t, 'keyed')
  const anon = await startBackend(t, 'anon')
  const gw = await startGateway(t, {
    upstreams: { v1: { servers: [{ url: v1.url }] }, mobile: { servers: [{ url: mobile.url }] }, keyed: { servers: [{ url: keyed.url }] }, anon: { servers: [{ url: anon.url }] } },
    routes: [
      { match: { path: '/*' }, upstream: 'v1' },
      { match: { path: '/m/*', headers: { 'user-agent': { regex: '.*Mobile.*' } } }, upstream: 'mobile' },
      { match: { path: '/k/*', headers: { 'x-api-key': { present: true } } }, upstream: 'keyed' },
      { match: { path: '/k/*', cookies: { session: { present: false } } }, upstream: 'anon' },
      { match: { path: '/v/*', query: { v: { regex: '[0-9]+' } } }, upstream: 'mobile' }
    ]
  })
  t.equal(await backendOf(`${gw.url}/m/a`, { 'user-agent': 'Foo Mobile Bar' }), 'mobile')
  t.equal(await backendOf(`${gw.url}/m/a`, { 'user-agent': 'Foo Desktop' }), 'v1')
  t.equal(await backendOf(`${gw.url}/v/a?v=12`), 'mobile')
  t.equal(await backendOf(`${gw.url}/v/a?v=12a`), 'v1', 'anchored: the whole value must match')
  t.equal(await backendOf(`${gw.url}/v/a?v=a12`), 'v1', 'anchored at the start too')
  t.equal(await backendOf(`${gw.url}/k/a`, { 'x-api-key': '' }), 'keyed', 'present, even empty')
  t.equal(await backendOf(`${gw.url}/k/a`, { cookie: 'other=1' }), 'anon', 'a cookie that is absent')
  t.equal(await backendOf(`${gw.url}/k/a`, { cookie: 'session=abc' }), 'v1', 'present: present:false fails')
})

t.test('specificity: more conditions first, then exact before regex before presence, then config order; conditions before a host alone', async t => {
  const names = ['fallback', 'host', 'presence', 'regex', 'exact', 'exact2', 'two', 'hostAndHeader', 'first', 'second']
  const backends = Object.fromEntries(await Promise.all(names.map(async n => [n, await startBackend(t, n)] as const)))
  const gw = await startGateway(t, {
    upstreams: Object.fromEntries(names.map(n => [n, { servers: [{ url: backends[n].url }] }])),
    routes: [
      { match: { path: '/s' }, upstream: 'fallback' },
      { match: { path: '/s', headers: { 'x-a': { present: true } } }, upstream: 'presence' },
      { match: { path: '/s', headers: { 'x-a': { regex: '[0-9]' } } }, upstream: 'regex' },
      { match: { path: '/s', headers: { 'x-a': '1' } }, upstream: 'exact' },
      { match: { path: '/s', headers: { 'x-a': { present: true }, 'x-b': { present: true } } }, upstream: 'two' },
      { match: { path: '/s', host: 'api.example.com' }, upstream: 'host' },
      { match: { path: '/s', host: 'api.example.com', headers: { 'x-c': '1' } }, upstream: 'hostAndHeader' },
      { match: { path: '/t', headers: { 'x-a': '1' } }, upstream: 'first' },
      { match: { path: '/t', headers: { 'x-b': '1' } }, upstream: 'second' }
    ]
  })
  t.equal(await backendOf(`${gw.url}/s`), 'fallback')
  t.equal(await backendOf(`${gw.url}/s`, { 'x-a': 'z' }), 'presence')
  t.equal(await backendOf(`${gw.url}/s`, { 'x-a': '7' }), 'regex', 'a regex before presence')
  t.equal(await backendOf(`${gw.url}/s`, { 'x-a': '1' }), 'exact', 'exact before a regex')
  t.equal(await backendOf(`${gw.url}/s`, { 'x-a': '1', 'x-b': '' }), 'two', 'two conditions before one, whatever their kind')
  t.equal(await backendOf(`${gw.url}/s`, { host: 'api.example.com' }), 'host')
  t.equal(await backendOf(`${gw.url}/s`, { host: 'api.example.com', 'x-a': '1' }), 'exact', 'a route with conditions before one with only a host')
  t.equal(await backendOf(`${gw.url}/s`, { host: 'api.example.com', 'x-c': '1' }), 'hostAndHeader', 'host and a header: two conditions')
  t.equal(await backendOf(`${gw.url}/s`, { host: 'www.example.com', 'x-c': '1' }), 'fallback', 'the host is one of its conditions')
  t.equal(await backendOf(`${gw.url}/t`, { 'x-a': '1', 'x-b': '1' }), 'first', 'equals: config order')
  t.equal((await call(`${gw.url}/t`)).status, 404, 'no route without conditions on /t: 404')
})

t.test('a bad condition fails at start naming its JSON path', async t => {
  const base = (match: Record<string, unknown>): GatehouseConfig => ({
    upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9' }] } },
    routes: [{ match: { path: '/' }, upstream: 'u' }, { match: { path: '/', ...match }, upstream: 'u' }]
  } as GatehouseConfig)
  const problem = (match: Record<string, unknown>): string => {
    try {
      normalizeConfig(base(match))
    } catch (err) {
      return (err as Error).message
    }
    return 'accepted'
  }
  t.match(problem({ headers: { 'x-canary': { regex: '(a+)+' } } }), /routes\[1\]\.match\.headers\.x-canary\.regex: may backtrack catastrophically/)
  t.match(problem({ query: { q: { regex: '([a-z]*)*x' } } }), /routes\[1\]\.match\.query\.q\.regex: may backtrack/)
  t.match(problem({ cookies: { c: { regex: '(' } } }), /routes\[1\]\.match\.cookies\.c\.regex: not a valid regular expression/)
  t.match(problem({ headers: { 'bad name': '1' } }), /routes\[1\]\.match\.headers\.bad name: not a valid header name/)
  t.match(problem({ headers: { 'X-A': '1', 'x-a': '2' } }), /routes\[1\]\.match\.headers\.x-a: given twice/)
  t.match(problem({ headers: { 'x-a': { regex: 'a', present: true } } }), /routes\[1\]\.match\.headers\.x-a: give one of "regex" and "present"/)
  t.match(problem({ headers: { 'x-a': { regex: 1 } } }), /routes\[1\]\.match\.headers\.x-a\.regex: must be string/)
  t.match(problem({ headers: { 'x-a': [] } }), /routes\[1\]\.match\.headers\.x-a/)
  t.match(problem({ headers: {} }), /routes\[1\]\.match\.headers/)
  t.equal(problem({ headers: { 'x-a': { regex: 'v[0-9]+\\.[0-9]+|.*Mobile.*' } } }), 'accepted', 'a regex without nested repetition passes')
  t.match(problem({ headers: { 'x-a': { regex: '[a-z]+(-[a-z]+)?' } } }), /may backtrack/, 'safe-regex2 counts an optional group holding a repetition too: conservative')
  // The same conditions in another order are the same route: Fastify would refuse it later.
  const dup: GatehouseConfig = {
    upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9' }] } },
    routes: [{ match: { path: '/', headers: { a: '1', b: '2' } }, upstream: 'u' }, { match: { path: '/', headers: { B: '2', a: '1' } }, upstream: 'u' }]
  }
  t.throws(() => normalizeConfig(dup), /routes\[1\]\.match: same path, host and method [A-Z]+ as routes\[0\], and the same conditions/)

  // And through the plugin, before listening.
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(gatehouse, base({ headers: { 'x-canary': { regex: '(a|aa)+$|(x+x+)+y' } } })).ready() }, /routes\[1\]\.match\.headers\.x-canary\.regex/)
})

t.test('the same over HTTP/2, with the cookie in several fields', async t => {
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const gw = await startH2Gateway(t, {
    upstreams: { v1: { servers: [{ url: v1.url }] }, v2: { servers: [{ url: v2.url }] } },
    routes: [
      { match: { path: '/*' }, upstream: 'v1' },
      { match: { path: '/*', headers: { 'x-canary': '1' } }, upstream: 'v2' },
      { match: { path: '/*', cookies: { beta: '1' } }, upstream: 'v2' },
      { match: { path: '/*', host: 'api.example.com', query: { q: '1' } }, upstream: 'v2' }
    ]
  })
  const on = async (headers: Record<string, string | string[]>): Promise<unknown> => (await h2Request(gw.port, { ':path': '/x', ...headers })).headers['x-backend']
  t.equal(await on({}), 'v1')
  t.equal(await on({ 'x-canary': '1' }), 'v2')
  t.equal(await on({ cookie: ['a=1', 'beta=1'] }), 'v2', 'HTTP/2 may split the cookie into fields (RFC 9113 §8.2.3)')
  t.equal(await on({ ':path': '/x?q=1', ':authority': 'api.example.com' }), 'v2', 'the host from :authority')
  t.equal(await on({ ':path': '/x?q=1', ':authority': 'www.example.com' }), 'v1')
})

t.test('a host app\'s own routes are unaffected; without conditions the router has no match strategy', async t => {
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const app = Fastify({ logger: false })
  app.get('/own', async () => ({ own: true }))
  app.get('/own/:id', { constraints: { host: 'own.example.com' } }, async request => ({ own: (request.params as { id: string }).id }))
  await app.register(gatehouse, {
    upstreams: { v1: { servers: [{ url: v1.url }] }, v2: { servers: [{ url: v2.url }] } },
    routes: [
      { match: { path: '/gw/*' }, upstream: 'v1' },
      { match: { path: '/gw/*', headers: { 'x-canary': '1' } }, upstream: 'v2' }
    ]
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  t.same((await call(`${url}/own`, { headers: { 'x-canary': '1' } })).json(), { own: true })
  t.same((await call(`${url}/own/7`, { headers: { host: 'own.example.com', 'x-canary': '1' } })).json(), { own: '7' }, 'the host\'s own constraints still work')
  t.equal((await call(`${url}/own/7`)).status, 404)
  t.equal(await backendOf(`${url}/gw/a`, { 'x-canary': '1' }), 'v2')

  const plain = await startGateway(t, { upstreams: { v1: { servers: [{ url: v1.url }] } }, routes: [{ match: { path: '/*' }, upstream: 'v1' }] })
  t.notOk(plain.app.hasConstraintStrategy('gatehouseMatch'), 'no condition anywhere: nothing is derived per request')
  t.ok(app.hasConstraintStrategy('gatehouseMatch'))
})

t.test('the README\'s canary example loads', async t => {
  const config = JSON.parse(readmeBlock('Canary releases', 'json')) as GatehouseConfig
  const routes = normalizeConfig(config).routes
  t.same(routes.map(r => r.conditions), [undefined, { headers: { 'x-canary': '1' } }, { cookies: { beta: '1' } }])
})
