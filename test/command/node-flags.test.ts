import t from 'tap'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { ROOT } from '../readme'
import { writeConfig } from '../standalone/process'
import { startBackend } from '../helper'
import { launch } from './launch'

const BIN = join(ROOT, 'dist', 'bin', 'gatehouse.js')

/** The arguments the gateway's process runs with now (after it replaced itself). */
function argvOf (pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(a => a !== '')
}

// The young generation's size can only be set when V8 makes the heap: the command starts
// itself again with it, in the same process (so signals still reach the gateway), and the
// user's own choice wins.
t.test('the gatehouse command runs with its V8 heap flags, in the process that was started, unless told otherwise', async t => {
  const b = await startBackend(t, 'b')
  const file = writeConfig({ upstreams: { u: { servers: [{ url: b.url }] } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] })
  const env = { GATEHOUSE_NODE_OPTIONS: undefined, NODE_OPTIONS: undefined, GATEHOUSE_NODE_FLAGS_APPLIED: undefined }

  const plain = launch(t, process.execPath, [BIN, '--port', '0', file], { env })
  const { pid } = await plain.listening()
  t.equal(pid, plain.child.pid, 'the pid that was started serves')
  t.ok(argvOf(pid).includes('--max-semi-space-size=8'), 'with the default semi-space size')
  plain.child.kill('SIGTERM')
  t.equal((await plain.exited).code, 0, 'and a SIGTERM to it drains and exits 0')

  const own = launch(t, process.execPath, [BIN, '--port', '0', file], { env: { ...env, GATEHOUSE_NODE_OPTIONS: '--max-semi-space-size=3 --heap-growing-percent=40' } })
  const ownPid = (await own.listening()).pid
  const ownArgv = argvOf(ownPid)
  t.ok(ownArgv.includes('--max-semi-space-size=3') && ownArgv.includes('--heap-growing-percent=40'), 'GATEHOUSE_NODE_OPTIONS replaces the defaults')
  t.notOk(ownArgv.includes('--max-semi-space-size=8'), 'the default is not added to them')
  own.child.kill('SIGTERM')
  await own.exited

  const none = launch(t, process.execPath, [BIN, '--port', '0', file], { env: { ...env, GATEHOUSE_NODE_OPTIONS: '' } })
  const nonePid = (await none.listening()).pid
  t.notOk(argvOf(nonePid).some(a => a.includes('semi-space')), 'an empty GATEHOUSE_NODE_OPTIONS leaves V8 its own sizes')
  none.child.kill('SIGTERM')
  await none.exited

  const direct = launch(t, process.execPath, ['--max-semi-space-size=4', BIN, '--port', '0', file], { env })
  const directPid = (await direct.listening()).pid
  const directArgv = argvOf(directPid)
  t.ok(directArgv.includes('--max-semi-space-size=4') && !directArgv.includes('--max-semi-space-size=8'), 'a size given to node itself wins')
  direct.child.kill('SIGTERM')
  await direct.exited
})
