import t from 'tap'
import { HealthState } from '../../../lib/upstreams/health'

t.test('starts healthy', async t => {
  const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 3 })
  t.equal(s.status, 'healthy')
  t.equal(s.healthy, true)
  t.equal(s.record(true), undefined, 'a pass while healthy changes nothing')
})

t.test('leaves after unhealthyThreshold consecutive failures, with the last reason', async t => {
  const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 3 })
  t.equal(s.record(false, 'status 500'), undefined)
  t.equal(s.record(false, 'status 502'), undefined)
  t.same(s.record(false, 'timeout'), { from: 'healthy', to: 'unhealthy', reason: 'timeout' })
  t.equal(s.healthy, false)
})

t.test('a pass between failures resets the count', async t => {
  const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 2 })
  s.record(false)
  s.record(true)
  t.equal(s.record(false), undefined, 'not two in a row')
  t.ok(s.record(false), 'now two in a row')
})

t.test('returns after healthyThreshold consecutive passes; a failure resets the count', async t => {
  const s = new HealthState({ healthyThreshold: 3, unhealthyThreshold: 1 })
  t.same(s.record(false, 'ECONNREFUSED'), { from: 'healthy', to: 'unhealthy', reason: 'ECONNREFUSED' })
  t.equal(s.record(true), undefined)
  t.equal(s.record(true), undefined)
  t.equal(s.record(false), undefined, 'a failure while unhealthy changes nothing')
  t.equal(s.record(true), undefined)
  t.equal(s.record(true), undefined)
  t.same(s.record(true, 'status 200'), { from: 'unhealthy', to: 'healthy', reason: 'status 200' })
  t.equal(s.healthy, true)
})

t.test('one transition per change, however long the streak', async t => {
  const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 2 })
  const results = [false, false, false, false, false, true, true, true, true, false, true]
  const transitions = results.map(ok => s.record(ok)).filter(x => x !== undefined)
  t.same(transitions.map(x => `${x.from}->${x.to}`), ['healthy->unhealthy', 'unhealthy->healthy'])
})

t.test('thresholds of 1 flip on every differing result', async t => {
  const s = new HealthState({ healthyThreshold: 1, unhealthyThreshold: 1 })
  t.ok(s.record(false))
  t.ok(s.record(true))
  t.ok(s.record(false))
})

t.test('reconfigure keeps the status and restarts the streak under the new thresholds', async t => {
  const s = new HealthState({ healthyThreshold: 2, unhealthyThreshold: 1 })
  s.record(false)
  s.record(true)
  s.reconfigure({ healthyThreshold: 3, unhealthyThreshold: 1 })
  t.equal(s.status, 'unhealthy')
  t.equal(s.record(true), undefined)
  t.equal(s.record(true), undefined)
  t.ok(s.record(true), 'three passes after the change')
})
