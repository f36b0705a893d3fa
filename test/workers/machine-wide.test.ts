import t from 'tap'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { startBackend } from '../helper'
import { writeConfig } from '../standalone/process'
import { launch } from '../command/launch'
import { settled, waitFor } from '../wait'
import { BIN, configWith, get, startWorkers } from './support'

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
  for (let i = 0; i < 6; i++) held.push(await hold(port))
  // Each worker keeps at most its share (2), so of 6 connections at least 2 are closed, however
  // the round-robin happened to hand them out (under load it may give one worker two in a row,
  // which then closes the second past its share even while the other has room).
  await waitFor(() => held.filter(h => h.closed()).length >= 2, { what: 'connections past the machine\'s 4 closed' })
  await new Promise(resolve => setImmediate(resolve))
  const open = held.filter(h => !h.closed()).length
  t.ok(open <= 4 && open >= 1, `${open} of 6 held open: never more than the machine's 4`)
  const extra: typeof held = []
  for (const h of [...held, ...extra]) h.socket.destroy()
})

t.test('health checks probe each server once for the machine; every worker acts on the verdict', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const c = await startBackend(t, 'c')
  let healthy = true
  a.handle((req, res) => {
    if (req.url === '/up') {
      res.statusCode = healthy ? 200 : 503
      res.end()
      return
    }
    res.setHeader('x-backend', 'a')
    res.end('a')
  })
  const m = await startWorkers(t, {
    ...configWith(a.url),
    upstreams: {
      // Checked once at start (the first server of the first group is probed at once) and then not
      // for an hour: each process that probes shows as one probe.
      once: { servers: [{ url: c.url, id: 'c' }], healthCheck: { path: '/up', interval: '1h' } },
      u: { servers: [{ url: a.url, id: 'a' }, { url: b.url, id: 'b' }], healthCheck: { path: '/up', interval: '100ms', unhealthyThreshold: 1, healthyThreshold: 1 } }
    }
  })
  const probes = await settled(() => c.hits.length, { quiet: 500, timeout: 10_000, what: 'probes of c' })
  t.equal(probes, 1, 'one probe per interval for the machine, not one per worker')

  healthy = false
  await waitFor(() => m.gw.logs.filter(l => l.msg === 'health state changed' && l.to === 'unhealthy').length === 2, { what: 'both workers took the verdict' })
  const lines = m.gw.logs.filter(l => l.msg === 'health state changed' && l.to === 'unhealthy')
  t.same(lines.map(l => l.worker).sort(), [1, 2])
  t.equal(lines.find(l => l.worker === 2)!.byWorker, 1, 'worker 2 took worker 1\'s verdict')
  const hitsBefore = a.hits.filter(h => h.url !== '/up').length
  for (let i = 0; i < 10; i++) t.equal((await get(`${m.url}/x`)).headers['x-backend'], 'b')
  t.equal(a.hits.filter(h => h.url !== '/up').length, hitsBefore, 'no worker sent a request to the unhealthy server')
})

t.test('a server that passive checks eject in one worker is ejected in all', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  // a resets every connection: each attempt on it fails, and is retried on b.
  a.handle((req) => { req.socket.destroy() })
  const m = await startWorkers(t, {
    ...configWith(a.url),
    upstreams: { u: { balance: 'round-robin', servers: [{ url: a.url, id: 'a' }, { url: b.url, id: 'b' }], passive: { maxFails: 1, failTimeout: '30s' }, retries: 1 } }
  })
  // Fresh connections alternate between the workers; one of the first requests fails on a in one of them.
  for (let i = 0; i < 4 && !m.gw.logs.some(l => l.msg === 'server ejected after failed attempts'); i++) await get(`${m.url}/x`)
  const ejected = await m.gw.waitForLog(l => l.msg === 'server ejected after failed attempts')
  const other = await m.gw.waitForLog(l => l.msg === 'server ejected by another worker')
  t.not(other.worker, ejected.worker, 'the other worker ejected it too')
  t.equal(other.byWorker, ejected.worker)
  const attempts = a.hits.length
  for (let i = 0; i < 10; i++) t.equal((await get(`${m.url}/x`)).status, 200)
  t.equal(a.hits.length, attempts, 'no worker tried the ejected server again')
})
