import t from 'tap'
import { writeFileSync } from 'node:fs'
import { startBackend } from '../helper'
import { waitFor } from '../wait'
import { configWith, get, load, startWorkers } from './support'

t.test('SIGHUP: the primary validates once; every worker applies it in place; a refused config changes no worker', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const m = await startWorkers(t, configWith(a.url))
  const pids = (await m.workers()).workers.map(w => w.pid)

  writeFileSync(m.file, '{ not json')
  process.kill(m.primary, 'SIGHUP')
  const refused = await m.gw.waitForLog(l => l.msg === 'config reload refused; every worker keeps its config')
  t.match(refused.error, /not valid JSON/)
  t.notOk(m.gw.logs.some(l => l.msg === 'config reload refused; the previous config keeps serving'), 'no worker was asked')

  writeFileSync(m.file, JSON.stringify(configWith(b.url)))
  process.kill(m.primary, 'SIGHUP')
  await waitFor(() => m.gw.logs.filter(l => l.msg === 'config reloaded').length === 2, { what: 'both workers reloaded' })
  t.same((await m.workers()).workers.map(w => w.pid), pids, 'in place: the same workers')
  for (let i = 0; i < 6; i++) t.equal((await get(`${m.url}/x`)).headers['x-backend'], 'b', 'the new server in every worker')
})

t.test('SIGHUP with new routes replaces the workers one at a time, under load, failing no request', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const m = await startWorkers(t, configWith(a.url))
  const pids = (await m.workers()).workers.map(w => w.pid)
  t.equal((await get(`${m.url}/other/x`)).headers['x-backend'], 'a')

  const traffic = load(m.url, 64)
  await waitFor(() => traffic.counts.ok > 500, { timeout: 10_000, what: 'load running' })
  writeFileSync(m.file, JSON.stringify({
    upstreams: { u: { servers: [{ url: a.url }] }, v: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/other/*' }, upstream: 'v' }, { match: { path: '/*' }, upstream: 'u' }],
    admin: { port: 0 }
  }))
  process.kill(m.primary, 'SIGHUP')
  await m.gw.waitForLog(l => l.msg === 'config validated; the route table changed: replacing the workers')
  await m.gw.waitForLog(l => l.msg === 'every worker replaced', 30_000)
  await waitFor(() => m.gw.logs.filter(l => l.msg === 'worker exited').length === 2, { timeout: 20_000, what: 'the old workers gone' })
  const counts = await traffic.stop()
  t.comment(`route change under 64 keep-alive connections (GETs and POSTs): ${counts.ok} requests answered 200, ${counts.failed} failed`)
  t.equal(counts.failed, 0, `no failed request (${counts.errors.slice(0, 5).join(', ')})`)
  const now = (await m.workers()).workers
  t.ok(now.every(w => !pids.includes(w.pid)), 'new workers')
  for (let i = 0; i < 6; i++) t.equal((await get(`${m.url}/other/x`)).headers['x-backend'], 'b', 'the new route serves in every worker')
})

t.test('"watch": true under workers: the primary watches the file and every worker applies it', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const m = await startWorkers(t, configWith(a.url, { watch: true }))
  writeFileSync(m.file, JSON.stringify(configWith(b.url, { watch: true })))
  await m.gw.waitForLog(l => l.component === 'primary' && l.msg === 'config validated; every worker reloads it' && l.trigger === 'watch')
  await waitFor(() => m.gw.logs.filter(l => l.msg === 'config reloaded').length === 2, { what: 'both workers reloaded' })
  t.equal(m.gw.logs.filter(l => l.msg === 'config reloaded').length, 2, 'once per worker, not once per watcher')
  for (let i = 0; i < 6; i++) t.equal((await get(`${m.url}/x`)).headers['x-backend'], 'b')
})
