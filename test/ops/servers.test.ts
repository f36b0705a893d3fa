import t from 'tap'
import { startBackend, startGateway, spread, count, call } from '../helper'
import { waitFor } from '../wait'
import { admin, TOKEN } from './admin-client'

const gateway = async (t: Parameters<typeof startGateway>[0], servers: Array<{ url: string, id?: string }>, extra: object = {}) => {
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: { u: { servers, ...extra } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  return { gw, url: gw.app.gatehouse.adminUrl as string }
}

t.test('POST adds a server that takes traffic at once in a group without checks; 400, 404 and 409', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const { gw, url } = await gateway(t, [{ url: a.url, id: 'a' }])

  const added = await admin(url, 'POST', '/upstreams/u/servers', { token: TOKEN, body: { url: b.url, weight: 2 } })
  t.equal(added.status, 201)
  const id = `127.0.0.1:${b.port}`
  t.match(added.json(), { id, url: b.url, weight: 2, backup: false, state: 'ready', adminState: 'ready', removing: false })
  t.equal(added.headers.location, `/upstreams/u/servers/${encodeURIComponent(id)}`, 'the id is URL-encoded in the link')
  t.same(count(await spread(`${gw.url}/x`, 6)), { a: 2, b: 4 }, 'the new server takes its weight of the traffic')

  const follow = await admin(url, 'GET', added.headers.location as string, { token: TOKEN })
  t.equal(follow.status, 200)
  t.equal(follow.json().id, id)

  const bad = await admin(url, 'POST', '/upstreams/u/servers', { token: TOKEN, body: { url: 'ftp://x', weight: 0, colour: 'red' } })
  t.equal(bad.status, 400)
  t.equal(bad.json().code, 'GH_ADMIN_BAD_REQUEST')
  t.match(bad.json().message, /url: must be an http:\/\/ or https:\/\/ origin/)
  t.match(bad.json().message, /weight: must be >= 1/)
  t.match(bad.json().message, /colour: unknown key/)
  t.equal((await admin(url, 'POST', '/upstreams/nope/servers', { token: TOKEN, body: { url: b.url } })).status, 404)
  const taken = await admin(url, 'POST', '/upstreams/u/servers', { token: TOKEN, body: { url: b.url, id: 'a' } })
  t.equal(taken.status, 409)
  t.equal(taken.json().code, 'GH_SERVER_EXISTS')
  t.equal((await admin(url, 'POST', '/upstreams/u/servers', { body: { url: b.url, id: 'c' } })).status, 401, 'no token, no change')
  t.equal(gw.app.gatehouse.registry.get('u')?.backends.all().length, 2)
})

t.test('a server added to a group with health checks starts unhealthy and takes traffic once it passes', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  let healthy = false
  b.handle((req, res) => {
    if (req.url === '/health') { res.statusCode = healthy ? 200 : 503; res.end(); return }
    res.setHeader('x-backend', 'b'); res.end('b')
  })
  const { gw, url } = await gateway(t, [{ url: a.url, id: 'a' }], { healthCheck: { interval: 20, healthyThreshold: 1, unhealthyThreshold: 1 } })
  const added = await admin(url, 'POST', '/upstreams/u/servers', { token: TOKEN, body: { url: b.url, id: 'b' } })
  t.equal(added.json().state, 'unhealthy', 'checked before it takes traffic')
  await waitFor(() => b.hits.some(h => h.url === '/health'), { what: 'a first check of b' })
  t.same(count(await spread(`${gw.url}/x`, 4)), { a: 4 }, 'no traffic while it fails its checks')
  healthy = true
  await waitFor(() => gw.app.gatehouse.registry.get('u')?.backends.get('b')?.healthy === true, { what: 'b healthy' })
  t.ok((await spread(`${gw.url}/x`, 4)).includes('b'), 'traffic once it passes')
})

t.test('PATCH drain: no new requests, the one in flight finishes; ready puts it back; maint stops checks', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  let release = (): void => {}
  b.handle((req, res) => {
    if (req.url === '/slow') { release = () => { res.setHeader('x-backend', 'b'); res.end('slow done') }; return }
    if (req.url === '/health') { res.end(); return }
    res.setHeader('x-backend', 'b'); res.end('b')
  })
  const { gw, url } = await gateway(t, [{ url: a.url, id: 'a' }, { url: b.url, id: 'b:1' }], { balance: 'round-robin' })
  // Round robin: a then b; the second request is held by b.
  await call(`${gw.url}/first`)
  const slow = call(`${gw.url}/slow`)
  await waitFor(() => b.hits.some(h => h.url === '/slow'), { what: 'the slow request at b' })

  const drained = await admin(url, 'PATCH', `/upstreams/u/servers/${encodeURIComponent('b:1')}`, { token: TOKEN, body: { state: 'drain' } })
  t.equal(drained.status, 200)
  t.match(drained.json(), { id: 'b:1', state: 'draining', adminState: 'drain', inflight: 1 })
  const hits = b.hits.length
  t.same(count(await spread(`${gw.url}/x`, 5)), { a: 5 }, 'no new request goes to a draining server')
  t.equal(b.hits.length, hits)
  release()
  const done = await slow
  t.equal(done.body, 'slow done', 'the request in flight finished')

  const back = await admin(url, 'PATCH', '/upstreams/u/servers/b%3A1', { token: TOKEN, body: { state: 'ready', weight: 3 } })
  t.match(back.json(), { state: 'ready', weight: 3 })
  t.ok((await spread(`${gw.url}/x`, 4)).includes('b'), 'ready again takes traffic')

  const maint = await admin(url, 'PATCH', '/upstreams/u/servers/b%3A1', { token: TOKEN, body: { state: 'maint' } })
  t.equal(maint.json().state, 'maint')
  t.equal((await admin(url, 'PATCH', '/upstreams/u/servers/b%3A1', { token: TOKEN, body: { state: 'off' } })).status, 400)
  t.equal((await admin(url, 'PATCH', '/upstreams/u/servers/b%3A1', { token: TOKEN, body: {} })).status, 400, 'an empty patch says nothing')
  t.equal((await admin(url, 'PATCH', '/upstreams/u/servers/zzz', { token: TOKEN, body: { state: 'ready' } })).status, 404)
})

t.test('maint stops the health checks of that server; ready makes it pass them again first', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const { gw, url } = await gateway(t, [{ url: a.url, id: 'a' }, { url: b.url, id: 'b' }], { healthCheck: { interval: 20, healthyThreshold: 1 } })
  await waitFor(() => b.hits.length > 0, { what: 'a check of b' })
  await admin(url, 'PATCH', '/upstreams/u/servers/b', { token: TOKEN, body: { state: 'maint' } })
  const checks = b.hits.length
  // A check already under way may still land; then none for several intervals.
  await waitFor(() => a.hits.length >= checks + 10, { what: 'ten intervals of checks of a' })
  t.ok(b.hits.length <= checks + 1, 'no checks of b in maint')
  const ready = await admin(url, 'PATCH', '/upstreams/u/servers/b', { token: TOKEN, body: { state: 'ready' } })
  t.equal(ready.json().state, 'unhealthy', 'back from maint it must pass a check first')
  await waitFor(() => gw.app.gatehouse.registry.get('u')?.backends.get('b')?.healthy === true, { what: 'b checked healthy again' })
})

t.test('DELETE drains, then removes once in-flight reaches zero; 202 and a link that turns 404', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  let release = (): void => {}
  b.handle((req, res) => { release = () => res.end('slow done') })
  const { gw, url } = await gateway(t, [{ url: a.url, id: 'a' }, { url: b.url, id: 'b' }])
  await call(`${gw.url}/first`)
  const slow = call(`${gw.url}/slow`)
  await waitFor(() => b.hits.length === 1, { what: 'the slow request at b' })

  const del = await admin(url, 'DELETE', '/upstreams/u/servers/b', { token: TOKEN })
  t.equal(del.status, 202)
  t.equal(del.headers.location, '/upstreams/u/servers/b')
  t.match(del.json(), { state: 'draining', removing: true, inflight: 1, link: '/upstreams/u/servers/b' })
  t.equal((await admin(url, 'GET', '/upstreams/u/servers/b', { token: TOKEN })).status, 200, 'still there while a request is in flight')
  t.same(count(await spread(`${gw.url}/x`, 3)), { a: 3 })
  release()
  t.equal((await slow).body, 'slow done')
  await waitFor(async () => (await admin(url, 'GET', '/upstreams/u/servers/b', { token: TOKEN })).status === 404, { what: 'b removed' })
  t.same(gw.app.gatehouse.registry.get('u')?.options.servers.map(s => s.id), ['a'])
  const last = await admin(url, 'DELETE', '/upstreams/u/servers/a', { token: TOKEN })
  t.equal(last.status, 409, 'the last primary stays')
  t.equal(last.json().code, 'GH_LAST_PRIMARY_SERVER')
  t.equal((await admin(url, 'DELETE', '/upstreams/u/servers/b', { token: TOKEN })).status, 404)
})

t.test('DELETE removes after drainTimeout even with a request still in flight', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  b.handle(() => {})
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    drainTimeout: 100,
    upstreams: { u: { servers: [{ url: a.url, id: 'a' }, { url: b.url, id: 'b' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const url = gw.app.gatehouse.adminUrl as string
  await call(`${gw.url}/first`)
  void call(`${gw.url}/hang`).catch(() => {})
  await waitFor(() => b.hits.length === 1, { what: 'the hanging request at b' })
  t.equal((await admin(url, 'DELETE', '/upstreams/u/servers/b', { token: TOKEN })).status, 202)
  await waitFor(() => gw.app.gatehouse.registry.get('u')?.backends.get('b') === undefined, { what: 'b removed at drainTimeout' })
  await b.kill()
})
