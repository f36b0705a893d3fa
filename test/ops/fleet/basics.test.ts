import t from 'tap'
import { startBackend, startLoggedGateway } from '../../helper'
import { startRedis } from '../../redis'
import { waitFor } from '../../wait'
import { admin, TOKEN } from '../admin-client'

t.test('a change on one instance is applied by the others within a second; a later starter applies those in force; Redis down keeps state', async t => {
  const redis = await startRedis(t)
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const config = {
    admin: { port: 0, token: TOKEN, sync: redis.url },
    upstreams: { u: { servers: [{ url: a.url, id: 'a' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }
  const one = await startLoggedGateway(t, config)
  const two = await startLoggedGateway(t, config)
  const server = (gw: typeof one, id: string) => gw.app.gatehouse.registry.get('u')?.backends.get(id)

  t.equal((await admin(one.app.gatehouse.adminUrl as string, 'POST', '/upstreams/u/servers', { token: TOKEN, body: { url: b.url, id: 'b' } })).status, 201)
  const took = await waitFor(() => server(two, 'b') !== undefined, { what: 'b on the second instance', timeout: 1000 })
  t.ok(took <= 1000, `applied by the other in ${took} ms`)
  t.equal(two.logs.filter(l => l.msg === 'admin change')[0]?.change.by.startsWith('fleet:'), true, 'logged there as coming from the fleet')

  t.equal((await admin(two.app.gatehouse.adminUrl as string, 'PATCH', '/upstreams/u/servers/a', { token: TOKEN, body: { state: 'drain' } })).status, 200)
  await waitFor(() => server(one, 'a')?.adminState === 'drain', { what: 'a drained on the first instance', timeout: 1000 })
  t.equal(server(two, 'b')?.adminState, 'ready')

  const three = await startLoggedGateway(t, config)
  t.ok(server(three, 'b') !== undefined, 'a later starter has the added server')
  t.equal(server(three, 'a')?.adminState, 'drain', 'and the drain in force')
  t.equal(one.logs.filter(l => l.msg === 'admin change').length, 2, 'each instance applies each change once: no echo')

  await redis.stop()
  for (const weight of [2, 3]) {
    const res = await admin(one.app.gatehouse.adminUrl as string, 'PATCH', '/upstreams/u/servers/b', { token: TOKEN, body: { weight } })
    t.equal(res.status, 200, 'changes still work locally while Redis is down')
  }
  await waitFor(() => one.count(/^fleet sync: Redis is unavailable/) >= 1, { what: 'the outage logged' })
  t.equal(server(one, 'b')?.weight, 3)
  t.equal(server(two, 'a')?.adminState, 'drain', 'the others keep their state')
  t.equal(one.count(/^fleet sync: Redis is unavailable/), 1, 'logged once')
})
