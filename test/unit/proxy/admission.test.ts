import t from 'tap'
import { Admission } from '../../../lib/proxy/admission'
import { waitFor } from '../../wait'

t.test('requests past the limit start in arrival order as slots free', async t => {
  const a = new Admission(2, 10_000)
  const events: string[] = []
  for (const name of ['a', 'b', 'c', 'd', 'e']) a.admit(() => events.push(`start ${name}`), () => events.push(`timeout ${name}`))
  t.same(events, ['start a', 'start b'])
  t.equal(a.inflight, 2)
  t.equal(a.queued, 3)
  a.release()
  t.same(events, ['start a', 'start b', 'start c'])
  a.release()
  a.release()
  t.same(events, ['start a', 'start b', 'start c', 'start d', 'start e'])
  t.equal(a.queued, 0)
  t.equal(a.inflight, 2)
  a.release()
  a.release()
  t.equal(a.inflight, 0)
})

t.test('a waiter that gets no slot within the timeout times out, once, and never starts', async t => {
  const a = new Admission(1, 50)
  const events: string[] = []
  a.admit(() => events.push('start a'), () => events.push('timeout a'))
  a.admit(() => events.push('start b'), () => events.push('timeout b'))
  await waitFor(() => events.includes('timeout b'), { what: 'b times out' })
  a.release()
  t.same(events, ['start a', 'timeout b'])
  t.equal(a.inflight, 0)
  t.equal(a.queued, 0)
})

t.test('a larger limit (a reload) starts waiters at once; abandon fails the rest', async t => {
  const a = new Admission(1, 10_000)
  const events: string[] = []
  for (const name of ['a', 'b', 'c', 'd']) a.admit(() => events.push(`start ${name}`), () => events.push(`gone ${name}`))
  a.limit = 2
  a.drain()
  t.same(events, ['start a', 'start b'])
  a.abandon()
  t.same(events, ['start a', 'start b', 'gone c', 'gone d'])
  t.equal(a.queued, 0)
})
