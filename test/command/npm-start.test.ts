import t from 'tap'
import { readFileSync } from 'node:fs'
import { ROOT } from '../readme'
import { writeConfig } from '../standalone/process'
import { startBackend, call } from '../helper'
import { slowBackend } from './slow-backend'
import { launch, gone, refused } from './launch'
import { waitFor } from '../wait'

// Signals sent to the very process the README tells users to start with `npm start`.
// Each test spawns one gateway (1-3 s to start on a busy machine).
const configWith = (url: string) => ({
  upstreams: { u: { servers: [{ url }] } },
  routes: [{ match: { path: '/*' }, upstream: 'u' }]
})


const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1])

t.test('npm start: SIGTERM to npm reaches the gateway, which drains; npm exits 0', async t => {
  const b = await slowBackend(t, 'b')
  // --ignore-scripts skips prestart's build, which would rebuild dist/ under the other tests.
  const npm = launch(t, 'npm', ['start', '--ignore-scripts'], { cwd: ROOT, env: { PORT: '0', GATEHOUSE_CONFIG: writeConfig(configWith(b.backend.url)) } })
  const { url, port, pid } = await npm.listening()
  t.equal(parentOf(pid), npm.child.pid, "the script exec'd node: no shell between npm and the gateway")
  const slow = call(`${url}/slow`)
  await b.arrived
  npm.child.kill('SIGTERM')
  await npm.waitForLog(l => l.msg === 'draining: no new connections, waiting for in-flight requests' && l.signal === 'SIGTERM')
  b.release()
  t.equal((await slow).status, 200, 'the in-flight request completed')
  t.same(await npm.exited, { code: 0, signal: null })
  await waitFor(() => gone(pid), { what: 'the gateway to exit', timeout: 15_000 })
  t.ok(await refused(port), 'no orphan keeps listening')
})

t.test('npm start: SIGHUP ends npm (it passes SIGHUP on to no one); the gateway then drains and exits too', async t => {
  const b = await startBackend(t, 'b')
  const npm = launch(t, 'npm', ['start', '--ignore-scripts'], { cwd: ROOT, env: { PORT: '0', GATEHOUSE_CONFIG: writeConfig(configWith(b.url)) } })
  const { port, pid } = await npm.listening()
  npm.child.kill('SIGHUP')
  const { signal } = await npm.exited
  t.equal(signal, 'SIGHUP', 'npm died of it')
  await npm.waitForLog(l => l.msg === 'drained, exiting')
  await waitFor(() => gone(pid), { what: 'the gateway to exit', timeout: 15_000 })
  t.ok(await refused(port), 'no orphan keeps listening')
})
