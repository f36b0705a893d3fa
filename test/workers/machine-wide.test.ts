import t from 'tap'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { startBackend } from '../helper'
import { writeConfig } from '../standalone/process'
import { launch } from '../command/launch'
import { waitFor } from '../wait'
import { BIN, configWith, startWorkers } from './support'

t.test('an in-memory rate limit with workers > 1 is refused at start, naming rateLimit.redis', async t => {
  const file = writeConfig(configWith('http://127.0.0.1:1', { rateLimit: { max: 10 } }))
  const gw = launch(t, process.execPath, [BIN, '--port', '0', '--workers', '2', file])
  t.equal((await gw.exited).code, 1)
  t.match(gw.stderr(), /rateLimit\.redis: required when workers > 1/)
  t.notOk(gw.logs.some(l => l.msg === 'worker starting'))

  const route = launch(t, process.execPath, [BIN, '--port', '0', '--workers', '2', writeConfig({
    ...configWith('http://127.0.0.1:1'),
    routes: [{ match: { path: '/*' }, upstream: 'u', rateLimit: { max: 5 } }]
  })])
  t.equal((await route.exited).code, 1, 'a route\'s own limit too')
  t.match(route.stderr(), /rateLimit\.redis/)
})

/** Opens a connection and sends half a request head, so that it stays open and unanswered. */
async function hold (port: number): Promise<{ socket: Socket, closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let closed = false
  socket.on('close', () => { closed = true })
  socket.on('error', () => {})
  socket.write('GET / HTTP/1.1\r\nhost: x\r\n')
  return { socket, closed: () => closed }
}

t.test('limits.maxConnections holds for the machine: each of 2 workers takes half', async t => {
  const a = await startBackend(t, 'a')
  const m = await startWorkers(t, configWith(a.url, { limits: { maxConnections: 4 } }))
  const port = Number(new URL(m.url).port)
  const held: Array<Awaited<ReturnType<typeof hold>>> = []
  for (let i = 0; i < 4; i++) held.push(await hold(port))
  // The round-robin gave each worker two: every further connection finds its worker full.
  const extra: typeof held = []
  for (let i = 0; i < 2; i++) extra.push(await hold(port))
  await waitFor(() => extra.every(e => e.closed()), { what: 'connections past the machine\'s 4 closed' })
  t.ok(held.every(h => !h.closed()), 'the first 4 are held')
  for (const h of [...held, ...extra]) h.socket.destroy()
})
