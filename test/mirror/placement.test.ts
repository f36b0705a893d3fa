import t from 'tap'
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import gatehouse from '../../app'
import { startBackend, startGateway, call } from '../helper'
import { waitFor } from '../wait'
import { startShadow } from './support'
import type { GatehouseConfig } from '../../lib/config'

t.test('under a host prefix, the copy\'s path loses the prefix and stripPrefix, as the backend\'s does', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  const app = Fastify({ logger: false })
  await app.register(gatehouse, {
    prefix: '/gw',
    upstreams: { api: { servers: [{ url: main.url }] }, shadow: { servers: [{ url: shadow.url }] } },
    routes: [
      { match: { path: '/api/*' }, upstream: 'api', stripPrefix: '/api', mirror: { upstream: 'shadow' } },
      { match: { path: '/*' }, upstream: 'api', mirror: { upstream: 'shadow' } }
    ]
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  t.equal((await call(`${base}/gw/api/hi?x=1`)).status, 200)
  t.equal((await call(`${base}/gw/pages/a`)).status, 200)
  await waitFor(() => shadow.copies.length === 2, { what: 'two copies' })
  t.same(shadow.copies.map(c => c.url).sort(), main.hits.map(h => h.url).sort())
  t.same(main.hits.map(h => h.url).sort(), ['/hi?x=1', '/pages/a'])
})

t.test('a reload that moves the mirror group to another server: the next copies go there', async t => {
  const main = await startBackend(t, 'main')
  const first = await startShadow(t)
  const second = await startShadow(t)
  const config = (shadowUrl: string): GatehouseConfig => ({
    upstreams: { api: { servers: [{ url: main.url }] }, shadow: { servers: [{ url: shadowUrl }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', mirror: { upstream: 'shadow' } }]
  })
  const gw = await startGateway(t, config(first.url))
  t.equal((await call(`${gw.url}/one`)).status, 200)
  await waitFor(() => first.copies.length === 1, { what: 'the first copy' })
  const summary = gw.app.gatehouse.reload(config(second.url))
  t.same(summary.changed, ['shadow'])
  t.equal(summary.routesChanged, false)
  t.equal((await call(`${gw.url}/two`)).status, 200)
  await waitFor(() => second.copies.length === 1, { what: 'the copy after the reload' })
  t.equal(second.copies[0].url, '/two')
  t.equal(first.copies.length, 1)
})

t.test('a reload without the mirror group is refused, naming the field', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  const gw = await startGateway(t, {
    upstreams: { api: { servers: [{ url: main.url }] }, shadow: { servers: [{ url: shadow.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', mirror: { upstream: 'shadow' } }]
  })
  t.throws(() => gw.app.gatehouse.reload({
    upstreams: { api: { servers: [{ url: main.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', mirror: { upstream: 'shadow' } }]
  }), /routes\[0\]\.mirror\.upstream: unknown upstream "shadow"/)
  t.equal((await call(`${gw.url}/still`)).status, 200)
  await waitFor(() => shadow.copies.length === 1, { what: 'copies go on' })
})
