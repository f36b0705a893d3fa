import t from 'tap'
import { startBackend, startGateway, call } from '../helper'
import { waitFor } from '../wait'
import { startShadow, mirrorConfig as config, mirrorMetrics } from './support'

// Which requests are copied: a random share (`percent`) of those the route forwards, no upgrades.

t.test('percent 100 copies every request, percent 0 none (and the route carries no hook)', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  const c = config(main.url, shadow.url)
  c.routes.push({ match: { path: '/never/*' }, upstream: 'api', mirror: { upstream: 'shadow', percent: 0 } })
  const gw = await startGateway(t, c)
  for (let i = 0; i < 30; i++) t.equal((await call(`${gw.url}/never/${i}`)).status, 200)
  // Counted when dispatched, before the backend request even goes: settled by the time the client has its answer.
  t.same(await mirrorMetrics(gw, 'shadow'), { sent: 0, answered: 0, failed: 0, dropped: 0, skipped: 0 }, 'percent 0: nothing')
  for (let i = 0; i < 30; i++) t.equal((await call(`${gw.url}/api/${i}`)).status, 200)
  t.equal((await mirrorMetrics(gw, 'shadow')).sent, 30, 'percent 100: every one')
  await waitFor(() => shadow.copies.length === 30, { what: '30 copies' })
  t.same(shadow.copies.map(c => c.url).sort(), Array.from({ length: 30 }, (_, i) => `/${i}`).sort())
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).answered === 30, { what: 'answered 30' })
})

t.test('percent 50 copies half of the requests, within bounds', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  const gw = await startGateway(t, config(main.url, shadow.url, { percent: 50 }))
  const N = 600
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < N) {
      next++
      const res = await call(`${gw.url}/api/x`)
      if (res.status !== 200) throw new Error(`status ${res.status}`)
    }
  }))
  const { sent, dropped, skipped } = await mirrorMetrics(gw, 'shadow')
  // Binomial(600, 0.5): mean 300, sd 12.2; outside 238..362 (5.06 sd either way) has probability 4.2e-7.
  t.ok(sent >= 238 && sent <= 362, `${sent} of ${N} copied`)
  t.equal(dropped + skipped, 0)
  await waitFor(() => shadow.copies.length === sent, { what: 'every copy sent arrives' })
})

t.test('an upgrade (WebSocket) is not copied', async t => {
  const main = await startBackend(t, 'main')
  main.server.on('upgrade', (_req, socket) => {
    socket.on('error', () => {})
    socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  })
  const shadow = await startShadow(t)
  const gw = await startGateway(t, config(main.url, shadow.url))
  const { connect } = await import('node:net')
  const head = await new Promise<string>((resolve, reject) => {
    const socket = connect(gw.port, '127.0.0.1', () => {
      socket.write('GET /api/ws HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
    })
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', chunk => {
      data += chunk
      if (data.includes('\r\n\r\n')) {
        socket.destroy()
        resolve(data)
      }
    })
    socket.on('error', reject)
  })
  t.match(head, /^HTTP\/1\.1 101 /, 'the tunnel was made')
  t.equal((await mirrorMetrics(gw, 'shadow')).sent, 0, 'no copy of it')
  t.equal((await call(`${gw.url}/api/plain`)).status, 200)
  t.equal((await mirrorMetrics(gw, 'shadow')).sent, 1, 'a plain request on the route is copied')
  await waitFor(() => shadow.copies.length === 1, { what: 'the plain copy' })
  t.equal(shadow.copies[0].url, '/plain')
})
