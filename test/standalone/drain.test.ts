import t from 'tap'
import { startStandalone, writeConfig } from './process'
import { startBackend, call } from '../helper'

t.test('SIGTERM during a slow request: the request completes 200, the process exits 0', async t => {
  const a = await startBackend(t, 'a')
  let release: () => void = () => {}
  const arrived = new Promise<void>(resolve => {
    a.handle((req, res) => {
      resolve()
      // Longer than close-with-grace's 500 ms default, which would otherwise exit 1.
      const timer = setTimeout(() => res.end('done'), 800)
      release = () => { clearTimeout(timer); res.end('done') }
    })
  })
  const gw = await startStandalone(t, writeConfig({
    upstreams: { u: { servers: [{ url: a.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }))
  const slow = call(`${gw.url}/slow`)
  await arrived
  gw.child.kill('SIGTERM')
  await gw.waitForLog(l => l.msg === 'draining: no new connections, waiting for in-flight requests')
  const res = await slow
  t.equal(res.status, 200)
  t.equal(res.body, 'done')
  const { code } = await gw.exited
  t.equal(code, 0)
  release()
})

t.test('the drain timeout bounds how long a stuck request holds the exit', async t => {
  const a = await startBackend(t, 'a')
  const arrived = new Promise<void>(resolve => a.handle(() => resolve()))
  const gw = await startStandalone(t, writeConfig({
    drainTimeout: '300ms',
    upstreams: { u: { servers: [{ url: a.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }))
  const stuck = call(`${gw.url}/stuck`).catch(err => err)
  await arrived
  const started = Date.now()
  gw.child.kill('SIGTERM')
  const { code } = await gw.exited
  t.ok(Date.now() - started < 3000, 'exited soon after the drain timeout')
  t.equal(code, 0)
  await gw.waitForLog(l => l.msg === 'drain timeout: closing the connections that are left')
  await stuck
})
