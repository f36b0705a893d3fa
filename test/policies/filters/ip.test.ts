import t from 'tap'
import { startBackend, call } from '../../helper'
import { waitFor } from '../../wait'
import { accessLines, startFilterGateway } from './support'

t.test('allow and deny by CIDR: deny wins, a refused request never reaches the backend', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/open' }, upstream: 'api', filters: { allow: ['127.0.0.0/8'] } },
      { match: { path: '/denied' }, upstream: 'api', filters: { allow: ['127.0.0.0/8'], deny: ['127.0.0.1'] } },
      { match: { path: '/elsewhere' }, upstream: 'api', filters: { allow: ['10.0.0.0/8', '2001:db8::/32'] } }
    ]
  })
  t.equal((await call(`${gw.url}/open`)).status, 200)
  t.equal(b.hits.length, 1)
  for (const path of ['/denied', '/elsewhere']) {
    const res = await call(`${gw.url}${path}`)
    t.equal(res.status, 403, path)
    t.match(res.json(), { statusCode: 403, error: 'Forbidden', code: 'GH_FORBIDDEN' })
  }
  t.equal(b.hits.length, 1, 'the backend saw only the allowed request')
  await waitFor(() => accessLines(gw.logs).length === 3, { what: 'three access lines' })
  t.match(accessLines(gw.logs).slice(1), [{ msg: 'refused', reason: 'ip', status: 403, upstream: 'api' }, { msg: 'refused', reason: 'ip' }])
  t.same(Object.fromEntries(gw.app.gatehouse.registry.get('api')!.refused), { ip: 2 })
})

t.test('IPv6 on ::1: an IPv6 range matches, an IPv4 one does not', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/v6' }, upstream: 'api', filters: { allow: ['::1/128'] } },
      { match: { path: '/v4' }, upstream: 'api', filters: { allow: ['127.0.0.0/8'] } },
      { match: { path: '/deny6' }, upstream: 'api', filters: { deny: ['::/0'] } }
    ]
  }, { host: '::1' })
  t.equal((await call(`${gw.url}/v6`)).status, 200)
  t.equal((await call(`${gw.url}/v4`)).status, 403)
  t.equal((await call(`${gw.url}/deny6`)).status, 403)
  t.equal(b.hits.length, 1)
})

t.test('an IPv4 client of a dual-stack listener (::ffff:127.0.0.1) is matched by IPv4 ranges', async t => {
  const b = await startBackend(t, 'b')
  let seen = ''
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/in' }, upstream: 'api', filters: { allow: ['127.0.0.1/32'] } },
      { match: { path: '/out' }, upstream: 'api', filters: { deny: ['::ffff:127.0.0.0/104'] } }
    ]
  }, { host: '::', setup: app => app.addHook('onRequest', async req => { seen = req.ip }) })
  const v4 = `http://127.0.0.1:${gw.port}`
  t.equal((await call(`${v4}/in`)).status, 200)
  t.equal(seen, '::ffff:127.0.0.1', 'the listener reported the mapped form')
  t.equal((await call(`${v4}/out`)).status, 403, 'a mapped deny entry works as its IPv4 range')
})

t.test('trustProxy off: a spoofed X-Forwarded-For changes nothing', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/internal' }, upstream: 'api', filters: { allow: ['10.0.0.0/8'] } },
      { match: { path: '/public' }, upstream: 'api', filters: { deny: ['203.0.113.0/24'] } }
    ]
  })
  t.equal((await call(`${gw.url}/internal`, { headers: { 'x-forwarded-for': '10.1.2.3' } })).status, 403, 'spoofing an allowed address does not get in')
  t.equal((await call(`${gw.url}/public`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 200, 'nor does it get a client refused')
})

t.test('trustProxy on: the address X-Forwarded-For names is filtered', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/internal' }, upstream: 'api', filters: { allow: ['10.0.0.0/8'], deny: ['10.1.2.3'] } }]
  }, { trustProxy: '127.0.0.1' })
  t.equal((await call(`${gw.url}/internal`, { headers: { 'x-forwarded-for': '10.9.9.9' } })).status, 200)
  t.equal((await call(`${gw.url}/internal`, { headers: { 'x-forwarded-for': '10.1.2.3' } })).status, 403)
  t.equal((await call(`${gw.url}/internal`)).status, 403, 'without the header, the balancer itself is the client')
})
