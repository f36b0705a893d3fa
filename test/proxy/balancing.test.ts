import t from 'tap'
import { startBackend, startGateway, call, spread, count } from '../helper'

t.test('least-connections steers new requests away from a server holding slow requests', async t => {
  const slow = await startBackend(t, 'slow')
  const fast = await startBackend(t, 'fast')
  const held: Array<() => void> = []
  let arrivedSlow: () => void = () => {}
  slow.handle((req, res) => {
    if (req.url === '/slow') {
      held.push(() => res.end('late'))
      arrivedSlow()
      return
    }
    res.setHeader('x-backend', 'slow')
    res.end('slow')
  })
  const gw = await startGateway(t, {
    upstreams: { u: { balance: 'least-connections', servers: [{ url: slow.url }, { url: fast.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  // On a tie either server may get /slow; fast answers it at once, slow holds it.
  const pending: Array<Promise<unknown>> = []
  for (let i = 0; i < 4 && held.length === 0; i++) {
    const arrived = new Promise<void>(resolve => { arrivedSlow = resolve })
    const req = call(`${gw.url}/slow`)
    pending.push(req)
    await Promise.race([arrived, req])
  }
  t.equal(held.length, 1, 'one slow request is held')
  t.same(count(await spread(`${gw.url}/x`, 10)), { fast: 10 }, 'while slow holds requests, everything new goes to fast')
  for (const release of held) release()
  await Promise.all(pending)
  t.same(count(await spread(`${gw.url}/x`, 4)), { slow: 2, fast: 2 }, 'once released, ties alternate again')
})

t.test('backup servers take traffic only when no primary can', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const spare = await startBackend(t, 'spare')
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: a.url }, { url: b.url }, { url: spare.url, backup: true }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  t.same(count(await spread(`${gw.url}/`, 10)), { a: 5, b: 5 })
  await a.kill()
  await b.kill()
  t.same(count(await spread(`${gw.url}/`, 6)), { spare: 6 }, 'both primaries down: the backup answers, with no failed request')
  await a.restart()
  await b.restart()
  const upstream = gw.app.gatehouse.registry.get('u')!
  // Passive ejection holds them out for failTimeout; clear it as a recovered health check would.
  for (const s of upstream.backends.all()) upstream.backends.recordSuccess(s)
  t.same(count(await spread(`${gw.url}/`, 4)), { a: 2, b: 2 }, 'primaries back: the backup is idle again')
})

t.test('hash on a header keeps each key on one server and spreads keys', async t => {
  const servers = await Promise.all(['a', 'b', 'c'].map(n => startBackend(t, n)))
  const gw = await startGateway(t, {
    upstreams: { u: { balance: 'hash', hashKey: 'header:x-user', servers: servers.map(s => ({ url: s.url })) } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const owners = new Set<string>()
  for (let user = 0; user < 30; user++) {
    const answers = await spread(`${gw.url}/`, 3, { 'x-user': `user-${user}` })
    t.equal(new Set(answers).size, 1, `user-${user} always lands on one server`)
    owners.add(answers[0])
  }
  t.equal(owners.size, 3, 'keys spread over all servers')
})

t.test('smooth weights through the gateway: 5,1,1 never bursts', async t => {
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(n => startBackend(t, n)))
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: a.url, weight: 5 }, { url: b.url }, { url: c.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  t.same(await spread(`${gw.url}/`, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a'])
})
