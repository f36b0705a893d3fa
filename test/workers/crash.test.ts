import t from 'tap'
import { startBackend } from '../helper'
import { gone } from '../command/launch'
import { slowBackend } from '../command/slow-backend'
import { waitFor } from '../wait'
import { configWith, get, startWorkers } from './support'

t.test('a worker killed with SIGKILL is replaced; the port stays open; the death is logged and counted', async t => {
  const a = await startBackend(t, 'a')
  const m = await startWorkers(t, configWith(a.url))
  const before = (await m.workers()).workers
  const victim = before.find(w => w.id === 2)!
  process.kill(victim.pid, 'SIGKILL')
  const died = await m.gw.waitForLog(l => l.msg === 'worker died')
  t.match(died, { level: 50, worker: 2, workerPid: victim.pid, signal: 'SIGKILL' }, 'logged as an error with its pid and signal')
  // The port never closed: new connections go to the worker left while the slot restarts.
  for (let i = 0; i < 10; i++) t.equal((await get(`${m.url}/x`)).status, 200)

  const replaced = await waitFor(async () => {
    const now = (await m.workers()).workers.find(w => w.id === 2)
    return now !== undefined && now.pid !== victim.pid && now.state === 'ready'
  }, { timeout: 10_000, what: 'a new worker 2' })
  t.comment(`worker 2 serving again ${replaced} ms after its death was logged`)
  const after = await m.workers()
  t.equal(after.deaths, 1, 'the death is counted')
  t.equal(after.workers.find(w => w.id === 1)!.pid, before.find(w => w.id === 1)!.pid, 'the other worker is untouched')
  t.ok(gone(victim.pid))
  for (let i = 0; i < 10; i++) t.equal((await get(`${m.url}/x`)).status, 200)
})

t.test('a slot that keeps dying is restarted with backoff', async t => {
  const a = await startBackend(t, 'a')
  const m = await startWorkers(t, configWith(a.url))
  const pidOf = async () => (await m.workers()).workers.find(w => w.id === 2 && w.state === 'ready')?.pid
  for (let i = 0; i < 3; i++) {
    let pid: number | undefined
    await waitFor(async () => (pid = await pidOf()) !== undefined, { timeout: 15_000, what: 'worker 2 ready' })
    process.kill(pid!, 'SIGKILL')
    await waitFor(() => m.gw.logs.filter(l => l.msg === 'worker died').length === i + 1, { what: `death ${i + 1} logged` })
  }
  const delays = m.gw.logs.filter(l => l.msg === 'worker died').map(l => l.respawnIn)
  t.same(delays, [0, 250, 500], 'at once the first time, then 250 ms, doubling')
})

t.test('SIGTERM to the primary drains every worker: the in-flight request finishes, exit 0', async t => {
  const b = await slowBackend(t, 'b')
  const m = await startWorkers(t, configWith(b.backend.url))
  const pids = (await m.workers()).workers.map(w => w.pid)
  const slow = get(`${m.url}/slow`)
  await b.arrived
  process.kill(m.primary, 'SIGTERM')
  await m.gw.waitForLog(l => l.msg === 'draining every worker')
  await waitFor(() => m.gw.logs.filter(l => l.msg === 'draining: no new connections, waiting for in-flight requests').length === 2, { what: 'both workers draining' })
  b.release()
  t.equal((await slow).status, 200, 'the in-flight request completed')
  t.same(await m.gw.exited, { code: 0, signal: null })
  t.ok(pids.every(gone), 'no worker left')
  t.notOk(m.gw.logs.some(l => l.msg === 'worker died'), 'a worker asked to drain did not count as a death')
})
