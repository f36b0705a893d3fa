import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, readmeBlock } from '../readme'
import { writeConfig } from '../standalone/process'
import { startBackend, call } from '../helper'
import { slowBackend } from './slow-backend'
import { launch, refused } from './launch'

// Signals sent to the very process the README tells users to start: the gatehouse command. Each test spawns one gateway (1-3 s to start on a busy machine).
const BIN = join(ROOT, 'dist', 'bin', 'gatehouse.js')

const configWith = (url: string) => ({
  upstreams: { u: { servers: [{ url }] } },
  routes: [{ match: { path: '/*' }, upstream: 'u' }]
})

/** The README's command line, with a free port and the test's config file in place of its own. */
function readmeCommand (file: string): string[] {
  const block = readmeBlock('2. Standalone: the `gatehouse` command', 'sh')
  const line = block.split('\n').find(l => l.startsWith('gatehouse '))
  if (line === undefined) throw new Error('no gatehouse command line in the README')
  return line.split(/\s+/).slice(1).map(arg => arg === '8080' ? '0' : arg === './gatehouse.json' ? file : arg)
}


t.test('the gatehouse command: SIGHUP reloads in place, SIGTERM drains and exits 0', async t => {
  const a = await startBackend(t, 'a')
  const b = await slowBackend(t, 'b')
  const file = writeConfig(configWith(a.url))
  // `gatehouse` is the package's bin, dist/bin/gatehouse.js, whose #!/usr/bin/env node execs node.
  const gw = launch(t, process.execPath, [BIN, ...readmeCommand(file)])
  const { url, port, pid } = await gw.listening()
  t.equal(pid, gw.child.pid, 'the process started is the one serving')
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'the listening address is printed, at the default info level')
  t.equal((await call(`${url}/x`)).headers['x-backend'], 'a')

  writeFileSync(file, JSON.stringify(configWith(b.backend.url)))
  process.kill(pid, 'SIGHUP')
  await gw.waitForLog(l => l.msg === 'config reloaded')
  t.equal((await call(`${url}/x`)).headers['x-backend'], 'b', 'the reloaded config serves')

  const slow = call(`${url}/slow`)
  await b.arrived
  process.kill(pid, 'SIGTERM')
  await gw.waitForLog(l => l.msg === 'draining: no new connections, waiting for in-flight requests')
  b.release()
  t.equal((await slow).status, 200, 'the in-flight request completed')
  t.same(await gw.exited, { code: 0, signal: null })
  t.ok(await refused(port), 'nothing listens any more')
})

