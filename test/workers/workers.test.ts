import t from 'tap'
import { startBackend } from '../helper'
import { writeConfig } from '../standalone/process'
import { launch } from '../command/launch'
import { waitFor } from '../wait'
import { BIN, configWith, get, startWorkers } from './support'

t.test('--workers 2: a primary and two workers serving one port, listed by GET /workers', async t => {
  const a = await startBackend(t, 'a')
  const m = await startWorkers(t, configWith(a.url))
  const listening = m.gw.logs.filter(l => typeof l.msg === 'string' && l.msg.startsWith('Server listening at '))
  t.equal(listening.length, 2, 'each worker listens')
  t.equal(new Set(listening.map(l => l.msg)).size, 1, 'on the same address')
  t.not(listening[0].pid, m.gw.child.pid, 'the process started is the primary, not a server')
  t.equal(m.primary, m.gw.child.pid)

  const { workers, deaths } = await m.workers()
  t.same(workers.map(w => [w.id, w.state]), [[1, 'ready'], [2, 'ready']])
  t.equal(new Set(workers.map(w => w.pid)).size, 2, 'two processes')
  t.ok(workers.every(w => !Number.isNaN(Date.parse(w.startedAt)) && w.version !== ''))
  t.equal(deaths, 0)

  for (let i = 0; i < 20; i++) t.equal((await get(`${m.url}/x`)).status, 200)
  // Counts reach the primary once a second: both workers served some of the 20 fresh connections.
  await waitFor(async () => (await m.workers()).workers.every(w => w.requests > 0), { timeout: 5000, what: 'both workers counted requests' })
})

t.test('the config key workers starts a primary; the --workers flag wins over it', async t => {
  const a = await startBackend(t, 'a')
  const m = await startWorkers(t, configWith(a.url, { workers: 2 }), { workers: 2, flag: false })
  t.equal((await m.workers()).workers.length, 2)

  const file = writeConfig(configWith(a.url, { workers: 2 }))
  const one = launch(t, process.execPath, [BIN, '--port', '0', '--workers', '1', file])
  const { pid } = await one.listening()
  t.equal(pid, one.child.pid, '--workers 1: the process started serves, as without workers')
  t.notOk(one.logs.some(l => l.component === 'primary'), 'no primary')
  one.child.kill('SIGTERM')
  t.same(await one.exited, { code: 0, signal: null })
})

t.test('a bad workers value fails at start naming it; so does a bad config under a primary', async t => {
  const bad = launch(t, process.execPath, [BIN, '--port', '0', writeConfig(configWith('http://127.0.0.1:1', { workers: 0 }))])
  t.equal((await bad.exited).code, 1)
  t.match(bad.stderr(), /^\s*workers\b/m, 'the message names the key by its path')

  const flag = launch(t, process.execPath, [BIN, '--port', '0', '--workers', 'many', writeConfig(configWith('http://127.0.0.1:1'))])
  t.equal((await flag.exited).code, 2)
  t.match(flag.stderr(), /--workers/)

  const typo = launch(t, process.execPath, [BIN, '--port', '0', '--workers', '2', writeConfig(configWith('http://127.0.0.1:1', { drainTimeut: 1 }))])
  t.equal((await typo.exited).code, 1, 'the primary validates the config once and exits 1')
  t.match(typo.stderr(), /drainTimeut/)
  t.notOk(typo.logs.some(l => l.msg === 'worker starting'), 'no worker was started')
})
