import t from 'tap'
import type { RouteOptions } from 'fastify'
import { startBackend, call } from '../../helper'
import { toArray } from '../../../lib/to-array'
import { startFilterGateway } from './support'

const HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse'] as const

function ourHooks (route: RouteOptions): string[] {
  return HOOKS.flatMap(h => toArray(route[h] as Array<{ name: string }> | undefined).map(fn => `${h}:${fn.name}`)).filter(n => /gatehouse(Ip|Methods|DeclaredSize|CountedSize|RequiredHeaders|BasicAuth|RequestHeaders|ResponseHeaders)/.test(n))
}

t.test('a route without filters gets none of their hooks, and answers as before', async t => {
  const b = await startBackend(t, 'b')
  const routes: RouteOptions[] = []
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/plain/*' }, upstream: 'api' },
      {
        match: { path: '/guarded/*' },
        upstream: 'api',
        filters: { allow: ['127.0.0.1'], methods: ['GET'], maxBodySize: 10, requireHeaders: { 'x-k': true }, basicAuth: { users: { a: '$2b$04$abcdefghijklmnopqrstuuWVZ3m5kqfUMBgRIvGnYBk1n6GXshVz.' } } },
        requestHeaders: { set: { 'x-a': '1' } },
        responseHeaders: { set: { 'x-b': '1' } }
      }
    ]
  }, {
    // The host's onRoute hook runs first; it keeps the options object, which Gatehouse's hooks then fill in.
    setup: app => app.addHook('onRoute', route => { routes.push(route) })
  })
  await gw.app.ready()
  const plain = routes.find(r => r.url === '/plain/*') as RouteOptions
  const guarded = routes.find(r => r.url === '/guarded/*') as RouteOptions
  t.same(ourHooks(plain), [], 'no filter hook on the plain route')
  t.same(ourHooks(guarded), [
    'onRequest:gatehouseIpFilter', 'onRequest:gatehouseMethodsFilter', 'onRequest:gatehouseDeclaredSize',
    'onRequest:gatehouseRequiredHeaders', 'onRequest:gatehouseBasicAuth', 'preParsing:gatehouseCountedSize',
    'preHandler:gatehouseRequestHeaders', 'onSend:gatehouseResponseHeaders'
  ], 'each filter of the guarded route, in the stated order')

  const res = await call(`${gw.url}/plain/x?y=1`, { method: 'DELETE', headers: { 'x-debug': '1' } })
  t.equal(res.status, 200)
  t.same(res.json(), { backend: 'b', url: '/plain/x?y=1' })
  t.equal(b.hits[0].headers['x-debug'], '1')
})
