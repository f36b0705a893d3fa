import t from 'tap'
import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { startBackend, startGateway, call } from '../helper'

/**
 * A port whose connections never complete: a listener with a backlog of 0 that never
 * accepts (Node always accepts, so python3 holds it), its queue filled by a few idle
 * connections; the kernel then drops further SYNs and a connect can only time out.
 */
async function blackhole (t: { teardown (fn: () => unknown): void }): Promise<string> {
  const py = spawn('python3', ['-c', [
    'import socket, sys',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'sys.stdin.read()'
  ].join('\n')], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => py.kill())
  const [data] = await once(py.stdout, 'data')
  const port = Number(String(data).trim())
  const fillers: Socket[] = []
  for (let i = 0; i < 4; i++) {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    fillers.push(s)
  }
  t.teardown(() => { for (const s of fillers) s.destroy() })
  // The first completes into the queue (one place with a backlog of 0); the rest hang, as
  // the gateway's connect will.
  await once(fillers[0], 'connect')
  return `http://127.0.0.1:${port}`
}

t.test('a connect timeout is a 504 naming the upstream', async t => {
  const url = await blackhole(t)
  const gw = await startGateway(t, {
    upstreams: { u: { timeouts: { connect: '300ms' }, servers: [{ url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const res = await call(`${gw.url}/x`)
  t.equal(res.status, 504)
  t.equal(res.json().code, 'GH_CONNECT_TIMEOUT')
  t.equal(res.json().upstream, 'u')
})

t.test('a POST whose connect timed out goes to another server: nothing was sent', async t => {
  const url = await blackhole(t)
  const good = await startBackend(t, 'good')
  const gw = await startGateway(t, {
    upstreams: { u: { timeouts: { connect: '300ms' }, servers: [{ url }, { url: good.url, backup: true }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const res = await call(`${gw.url}/orders`, { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } })
  t.equal(res.status, 200)
  t.equal(good.hits.length, 1)
  t.equal(good.hits[0].method, 'POST')
})
