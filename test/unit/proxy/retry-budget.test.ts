import t from 'tap'
import { MIN_RETRIES_PER_WINDOW, RetryBudget } from '../../../lib/proxy/retry-budget'

t.test('retries are capped at a share of recent requests, with a floor', async t => {
  let now = 1_000_000
  const budget = new RetryBudget(0.2, () => now)
  for (let i = 0; i < 100; i++) budget.recordRequest()
  let granted = 0
  for (let i = 0; i < 50; i++) if (budget.tryAcquire()) granted++
  t.equal(granted, 20, '20% of 100 requests')

  // Ten seconds later the window has moved on: the old requests and retries no longer count.
  now += 10_000
  granted = 0
  for (let i = 0; i < 50; i++) if (budget.tryAcquire()) granted++
  t.equal(granted, MIN_RETRIES_PER_WINDOW, 'a quiet upstream still gets the floor')
})

t.test('the window slides second by second', async t => {
  let now = 0
  const budget = new RetryBudget(0.5, () => now)
  for (let i = 0; i < 40; i++) budget.recordRequest()
  for (let i = 0; i < 20; i++) t.ok(budget.tryAcquire())
  t.notOk(budget.tryAcquire(), 'spent')
  now += 5_000
  for (let i = 0; i < 40; i++) budget.recordRequest()
  let granted = 0
  while (budget.tryAcquire()) granted++
  t.equal(granted, 20, '80 requests in the window allow 40 retries, 20 already taken')
  now += 5_500
  // The first second's requests and retries have left the window.
  granted = 0
  while (budget.tryAcquire()) granted++
  t.equal(granted, 0, 'the 40 requests left in the window allow 20 retries, and those 20 still count')
})
