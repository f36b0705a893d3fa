import t from 'tap'
import { waitFor } from '../../wait'
import { change, fleetSetup, privateRedis, serverOn, startLoggedGateway, stateOf } from './support'

t.test('a later starter and a reloaded instance end in the same runtime state as the rest', async t => {
  const { redis } = await privateRedis(t)
  const { a, b, c, config } = await fleetSetup(t)
  const one = await startLoggedGateway(t, config(redis.url))
  const two = await startLoggedGateway(t, config(redis.url))

  t.equal((await change(one, 'POST', '/upstreams/u/servers', { url: b.url, id: 'b', weight: 3 })).status, 201)
  t.equal((await change(two, 'PATCH', '/upstreams/u/servers/b', { state: 'maint' })).status, 200)
  t.equal((await change(one, 'PATCH', '/upstreams/u/servers/c', { state: 'drain', weight: 2 })).status, 200)
  await waitFor(() => stateOf(one) === 'a:ready:1 b:maint:3 c:drain:2' && stateOf(two) === stateOf(one), { what: 'both to agree' })

  const three = await startLoggedGateway(t, config(redis.url))
  t.equal(stateOf(three), stateOf(one), 'a later starter serves its first request with the shared state')

  // The same config again: what SIGHUP does. The file's state first, then the shared one over it.
  const summary = two.app.gatehouse.reload(config(redis.url))
  t.equal(summary.runtimeChangesDropped.length > 0, true, 'the reload dropped its local changes')
  await waitFor(() => stateOf(two) === stateOf(one), { what: 'the reloaded one back in the shared state', timeout: 1000 })
  t.equal(two.count(/^fleet sync: shared runtime state re-applied after the reload/), 1)

  // A reload whose file removed c: c is gone there, the rest of the shared state stays.
  two.app.gatehouse.reload(config(redis.url, [{ url: a.url, id: 'a' }]))
  await waitFor(() => stateOf(two) === 'a:ready:1 b:maint:3', { what: 'c gone, b kept' })
  t.equal(serverOn(two, 'c'), undefined, 'the server the file removed is not put back')
  t.equal(stateOf(one), 'a:ready:1 b:maint:3 c:drain:2', 'and the others keep theirs')

  // The file brings c back: its shared state with it.
  two.app.gatehouse.reload(config(redis.url, [{ url: a.url, id: 'a' }, { url: c.url, id: 'c' }]))
  await waitFor(() => stateOf(two) === stateOf(one), { what: 'c back, drained as the fleet has it' })
})
