import t from 'tap'
import { BackendSet } from '../../../lib/upstreams/backend-set'
import type { ServerOptions } from '../../../lib/config'

const opts = (id: string, backup = false): ServerOptions => ({ id, url: `http://${id}:80`, origin: `http://${id}:80`, weight: 1, backup })
const ids = (list: readonly { id: string }[]) => list.map(b => b.id)

t.test('drain and maint take a server out of the ready lists; ready puts it back', async t => {
  const set = new BackendSet([opts('a'), opts('b'), opts('c', true)], { passive: { maxFails: 1, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
  const b = set.get('b')!
  t.same(ids(set.ready(0).primary), ['a', 'b'])
  t.equal(set.setAdminState(b, 'drain', false), 'ready', 'returns the state before')
  t.same(ids(set.ready(0).primary), ['a'], 'the cached list was rebuilt')
  set.setAdminState(b, 'maint', false)
  t.same(ids(set.ready(0).primary), ['a'])
  set.setAdminState(b, 'ready', false)
  t.same(ids(set.ready(0).primary), ['a', 'b'])
  t.ok(b.healthy, 'without checks it is healthy at once')
  set.setAdminState(set.get('c')!, 'drain', false)
  t.same(ids(set.ready(0).backup), [], 'backups too')
})

t.test('leaving maint in a checked group, a server must pass its checks again', async t => {
  const set = new BackendSet([opts('a'), opts('b')], { passive: { maxFails: 1, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
  const b = set.get('b')!
  set.setAdminState(b, 'maint', true)
  set.setAdminState(b, 'ready', true)
  t.notOk(b.healthy)
  t.same(ids(set.ready(0).primary), ['a'])
  const a = set.get('a')!
  set.setAdminState(a, 'drain', true)
  set.setAdminState(a, 'ready', true)
  t.ok(a.healthy, 'drain → ready keeps the verdict: checks never stopped')
})

t.test('an ejection running out does not bring back a drained server', async t => {
  const set = new BackendSet([opts('a'), opts('b')], { passive: { maxFails: 1, failTimeout: 100, maxEjectionPercent: 100 }, slowStart: 0 })
  const b = set.get('b')!
  set.recordFailure(b, 0)
  set.setAdminState(b, 'drain', false)
  t.same(ids(set.ready(200).primary), ['a'])
})

t.test('a reload (update) keeps the admin state of a server it keeps', async t => {
  const set = new BackendSet([opts('a'), opts('b')], { passive: { maxFails: 1, failTimeout: 100, maxEjectionPercent: 100 }, slowStart: 0 })
  set.setAdminState(set.get('b')!, 'drain', false)
  set.update([opts('a'), opts('b')], { passive: { maxFails: 1, failTimeout: 100, maxEjectionPercent: 100 }, slowStart: 0 })
  t.equal(set.get('b')!.adminState, 'drain', 'RuntimeServers.reset() is what clears it on a reload')
})
