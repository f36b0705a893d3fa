import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBackend } from '../helper'
import { ROOT } from '../readme'
import { waitFor } from '../wait'
import { configWith, load, startWorkers } from './support'

/** A copy of the installed package (the build, package.json, the dependencies linked). */
function installedCopy (t: { teardown (fn: () => unknown): void }): { dir: string, bin: string, setVersion (v: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-install-'))
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const setVersion = (v: string) => writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version: v }))
  setVersion('1.0.0-old')
  return { dir, bin: join(dir, 'dist', 'bin', 'gatehouse.js'), setVersion }
}

t.test('SIGUSR2 replaces every worker from the code on disk, one at a time, under load, failing no request', async t => {
  const a = await startBackend(t, 'a')
  const install = installedCopy(t)
  const m = await startWorkers(t, configWith(a.url), { bin: install.bin })
  const before = (await m.workers()).workers
  t.same(before.map(w => w.version), ['1.0.0-old', '1.0.0-old'])

  const traffic = load(m.url, 64)
  await waitFor(() => traffic.counts.ok > 500, { timeout: 10_000, what: 'load running' })
  install.setVersion('1.0.1-new')
  process.kill(m.primary, 'SIGUSR2')
  await m.gw.waitForLog(l => l.msg === 'every worker replaced', 30_000)
  // The old workers drain after their successors are ready; load keeps going until they are gone.
  await waitFor(() => m.gw.logs.filter(l => l.msg === 'worker exited').length === 2, { timeout: 20_000, what: 'the old workers gone' })
  const atEnd = traffic.counts.ok
  await waitFor(() => traffic.counts.ok > atEnd + 200, { timeout: 10_000, what: 'load served by the new workers' })
  const counts = await traffic.stop()
  t.comment(`rolling replacement under 64 keep-alive connections (GETs and POSTs): ${counts.ok} requests answered 200, ${counts.failed} failed`)
  t.equal(counts.failed, 0, `no failed request (${counts.errors.slice(0, 5).join(', ')})`)

  const after = (await m.workers()).workers
  t.same(after.map(w => [w.id, w.state, w.version]), [[1, 'ready', '1.0.1-new'], [2, 'ready', '1.0.1-new']], 'the new code serves')
  t.ok(after.every(w => !before.some(b => b.pid === w.pid)), 'new pids')
  t.notOk(m.gw.logs.some(l => l.msg === 'worker died'), 'no worker counted as dead')
  // Slot 1's successor was ready before slot 1's old worker exited.
  const idx = (msg: string, pid?: number) => m.gw.logs.findIndex(l => l.component === 'primary' && l.msg === msg && l.worker === 1 && (pid === undefined || l.workerPid === pid))
  const newOne = after.find(w => w.id === 1)!.pid
  t.ok(idx('worker ready', newOne) < idx('worker exited', before.find(w => w.id === 1)!.pid), 'the new worker was ready before the old one left')
})
