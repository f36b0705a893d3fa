import t from 'tap'
import { BackendSet } from '../../../lib/upstreams/backend-set'
import type { ServerOptions } from '../../../lib/config'

const opts = (id: string, extra: Partial<ServerOptions> = {}): ServerOptions => ({
  id, url: `http://${id}`, origin: `http://${id}:80`, weight: 1, backup: false, ...extra
})
const ids = (list: readonly { id: string }[]) => list.map(b => b.id)

t.test('update keeps unchanged servers and their state; removed ones drain', async t => {
  const set = new BackendSet([opts('a'), opts('b'), opts('c')], { passive: { maxFails: 3, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
  const [a, b] = set.all()
  a.inflight = 4
  b.healthy = false
  set.markChanged()
  const { added, removed } = set.update([opts('a', { weight: 5 }), opts('b'), opts('d', { backup: true })], { passive: { maxFails: 3, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
  t.same(ids(added), ['d'])
  t.same(ids(removed), ['c'])
  t.equal(removed[0].draining, true)
  t.equal(set.all()[0], a, 'same object')
  t.equal(a.inflight, 4, 'in-flight count kept')
  t.equal(a.weight, 5, 'weight follows the config')
  t.equal(set.all()[1].healthy, false, 'health kept')
  const ready = set.ready(Date.now())
  t.same(ids(ready.primary), ['a'])
  t.same(ids(ready.backup), ['d'])
})

t.test('a server whose URL changed under the same id starts afresh', async t => {
  const set = new BackendSet([opts('a')], { passive: { maxFails: 3, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
  const old = set.all()[0]
  old.healthy = false
  const { added, removed } = set.update([{ ...opts('a'), url: 'http://elsewhere' }], { passive: { maxFails: 3, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
  t.equal(added.length, 1)
  t.equal(removed[0], old)
  t.equal(set.all()[0].healthy, true)
})

t.test('passive ejection: maxFails within failTimeout, then one trial', async t => {
  const set = new BackendSet([opts('a'), opts('b')], { passive: { maxFails: 2, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
  const a = set.all()[0]
  t.notOk(set.recordFailure(a, 0))
  t.notOk(set.recordFailure(a, 1500), 'the first failure is outside the window')
  t.ok(set.recordFailure(a, 1600), 'two within the window eject')
  t.same(ids(set.ready(1700).primary), ['b'])
  t.same(ids(set.ready(2600).primary), ['a', 'b'], 'back when the ejection runs out')
  set.markChosen(a)
  t.same(ids(set.ready(2600).primary), ['b'], 'only one trial request at a time')
  set.recordSuccess(a)
  t.same(ids(set.ready(2600).primary), ['a', 'b'])
  t.equal(a.ejectedUntil, 0)
})

t.test('maxFails 0 turns passive ejection off', async t => {
  const set = new BackendSet([opts('a')], { passive: { maxFails: 0, failTimeout: 1000, maxEjectionPercent: 100 }, slowStart: 0 })
  const a = set.all()[0]
  for (let i = 0; i < 10; i++) t.notOk(set.recordFailure(a, i))
  t.same(ids(set.ready(10).primary), ['a'])
})
