import t from 'tap'
import { startBackend, startLoggedGateway, spread, count } from '../helper'
import { admin, TOKEN } from './admin-client'

t.test('every change is logged once with who, what, before and after; a reload drops them and lists them', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const c = await startBackend(t, 'c')
  const config = {
    admin: { port: 0, token: TOKEN },
    upstreams: { u: { servers: [{ url: a.url, id: 'a' }, { url: b.url, id: 'b' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }
  const gw = await startLoggedGateway(t, config)
  const url = gw.app.gatehouse.adminUrl as string
  await admin(url, 'POST', '/upstreams/u/servers', { token: TOKEN, body: { url: c.url, id: 'c' } })
  await admin(url, 'PATCH', '/upstreams/u/servers/a', { token: TOKEN, body: { state: 'drain' } })
  await admin(url, 'PATCH', '/upstreams/u/servers/b', { token: TOKEN, body: { weight: 5 } })
  t.same(count(await spread(`${gw.url}/x`, 6)), { b: 5, c: 1 })

  const changes = gw.logs.filter(l => l.msg === 'admin change')
  t.equal(changes.length, 3, 'one line per change')
  t.match(changes[1].change, { by: '127.0.0.1', action: 'update', upstream: 'u', server: 'a', before: { state: 'ready', weight: 1 }, after: { state: 'drain', weight: 1 } })
  t.match(changes[0].change, { action: 'add', server: 'c', before: null, after: { url: c.url } })

  const summary = gw.app.gatehouse.reload(config)
  t.same(summary.runtimeChangesDropped, [
    `add u/c: null -> {"url":"${c.url}","weight":1,"backup":false}`,
    'update u/a: {"weight":1,"state":"ready"} -> {"weight":1,"state":"drain"}',
    'update u/b: {"weight":1,"state":"ready"} -> {"weight":5,"state":"ready"}'
  ])
  t.same(summary.serversRemoved, ['u/c'], 'the file is the truth again')
  t.same(count(await spread(`${gw.url}/x`, 4)), { a: 2, b: 2 }, 'drain and weight are gone too')
  t.same(gw.app.gatehouse.reload(config).runtimeChangesDropped, [], 'nothing left to drop')
})
