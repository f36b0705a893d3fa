import t from 'tap'
import type { RouteOptions } from 'fastify'
import { startBackend, startGateway } from '../../helper'
import { toArray } from '../../../lib/to-array'
import type { GatehouseConfig } from '../../../lib/config'
import { fetchRaw, text } from './support'

const HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse'] as const
const BODY = text(5000)

/** Every route hook, by lifecycle and function name. */
function hooks (route: RouteOptions): string[] {
  return HOOKS.flatMap(h => toArray(route[h] as Array<{ name: string }> | undefined).map(fn => `${h}:${fn.name}`))
}

async function gateway (t: { teardown (fn: () => unknown): void }, compress: Partial<GatehouseConfig>) {
  const b = await startBackend(t, 'b')
  b.handle((req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(BODY)
  })
  const routes: RouteOptions[] = []
  const gw = await startGateway(t, {
    ...compress,
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/plain/*' }, upstream: 'api', compress: false, responseHeaders: { set: { 'x-a': '1' } } },
      { match: { path: '/packed/*' }, upstream: 'api', responseHeaders: { set: { 'x-a': '1' } } }
    ]
  } as GatehouseConfig, app => { app.addHook('onRoute', route => { routes.push(route) }) })
  await gw.app.ready()
  const find = (url: string) => routes.find(r => r.url === url) as RouteOptions
  return { gw, plain: find('/plain/*'), packed: find('/packed/*') }
}

t.test('a route without compress gets no hook of it; a compressing route gets one onSend hook', async t => {
  const none = await gateway(t, {})
  const on = await gateway(t, { compress: {} })
  t.ok(hooks(none.plain).includes('onSend:gatehouseResponseHeaders'), 'the hooks are seen (the route\'s own header rule)')
  t.same(hooks(on.plain), hooks(none.plain), 'compress: false on the route: the same hooks as with compress off everywhere')
  const packed = hooks(on.packed)
  t.same(packed.filter(h => h !== 'onSend:gatehouseCompress'), hooks(none.packed), 'a compressing route: the others\' hooks, and no onRequest of @fastify/compress…')
  t.same(packed.filter(h => h.startsWith('onSend:')), ['onSend:gatehouseStickyCookie', 'onSend:gatehouseResponseHeaders', 'onSend:gatehouseCompress'], '…and one onSend of ours, last')

  const plain = await fetchRaw(`${on.gw.url}/plain/x`, { 'accept-encoding': 'gzip' })
  t.equal(plain.headers['content-encoding'], undefined, 'compress: false: sent plain')
  t.equal(plain.headers.vary, undefined)
  t.ok(plain.raw.equals(BODY))
  const encoded = await fetchRaw(`${on.gw.url}/packed/x`, { 'accept-encoding': 'gzip' })
  t.equal(encoded.headers['content-encoding'], 'gzip')
  t.equal(encoded.headers['x-a'], '1', 'the route\'s header rules still apply')
  t.ok(encoded.decoded().equals(BODY))
})

t.test('compress on one upstream only: its routes compress, the others do not', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  for (const backend of [a, b]) backend.handle((req, res) => { res.setHeader('content-type', 'text/plain'); res.end(BODY) })
  const gw = await startGateway(t, {
    upstreams: { a: { servers: [{ url: a.url }], compress: { encodings: ['gzip'] } }, b: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/a/*' }, upstream: 'a' }, { match: { path: '/b/*' }, upstream: 'b' }]
  })
  t.equal((await fetchRaw(`${gw.url}/a/x`, { 'accept-encoding': 'br, gzip' })).headers['content-encoding'], 'gzip')
  t.equal((await fetchRaw(`${gw.url}/b/x`, { 'accept-encoding': 'br, gzip' })).headers['content-encoding'], undefined)
})
