import t from 'tap'
import { startBackend, startGateway, call } from '../helper'
import { waitFor } from '../wait'
import { startShadow, refusingUrl, startResetter, mirrorConfig as config, mirrorMetrics, metric } from './support'

// A mirror that is down, silent, slow or resetting never touches the client's answers, and its failures are its own group's.

t.test('a mirror that refuses connections: every answer arrives, the failures are the mirror group\'s alone', async t => {
  const main = await startBackend(t, 'main')
  const down = await refusingUrl()
  const c = config(main.url, down)
  c.upstreams.shadow.passive = { maxFails: 1, maxEjectionPercent: 100 }
  const gw = await startGateway(t, c)
  for (let i = 0; i < 20; i++) {
    const res = await call(`${gw.url}/api/${i}`, { method: 'POST', body: 'x' })
    t.equal(res.status, 200, `request ${i} answered by the backend`)
  }
  t.equal(main.hits.length, 20)
  const m = await mirrorMetrics(gw, 'shadow')
  t.ok(m.sent >= 1, 'copies were sent')
  t.equal(m.answered, 0)
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).failed === m.sent, { what: 'every copy sent failed' })
  t.equal(m.sent + m.dropped, 20, 'once its one server is ejected, copies find no server and are dropped')
  t.equal(await metric(gw, 'gatehouse_server_failures_total{upstream="api",server="' + new URL(main.url).host + '"}'), 0, 'nothing charged to the route\'s group')
  t.equal(await metric(gw, 'gatehouse_retries_total{upstream="api"}'), 0, 'nor to its retries')
  t.equal(await metric(gw, 'gatehouse_upstream_ready_servers{upstream="api"}'), 1)
  t.equal(await metric(gw, 'gatehouse_upstream_ready_servers{upstream="shadow"}'), 0, 'the mirror\'s server is ejected from its own group')
})

t.test('a mirror that never answers: the client has each answer while the mirror still holds its copy', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  shadow.hold()
  const gw = await startGateway(t, config(main.url, shadow.url))
  for (let i = 1; i <= 5; i++) {
    const res = await call(`${gw.url}/api/${i}`)
    t.equal(res.status, 200, `answer ${i}`)
    await waitFor(() => shadow.copies.length === i, { what: `copy ${i}` })
    t.equal(shadow.held.length, i, `the mirror holds ${i} copies unanswered`)
  }
  t.equal((await mirrorMetrics(gw, 'shadow')).answered, 0)
  shadow.release()
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).answered === 5, { what: 'the late answers read and discarded' })
})

t.test('a mirror that resets every connection: the process and the answers are untouched', async t => {
  const main = await startBackend(t, 'main')
  const resetter = await startResetter(t)
  const c = config(main.url, resetter.url)
  c.upstreams.shadow.passive = { maxFails: 0 }
  const gw = await startGateway(t, c)
  const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await call(`${gw.url}/api/${i}`, { method: 'POST', body: 'abc' })).status))
  t.same(answers, Array(20).fill(200))
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).failed === 20, { what: '20 failed copies' })
  t.ok(resetter.connections() >= 1)
  t.equal((await call(`${gw.url}/api/after`)).status, 200, 'still serving')
})

t.test('the mirror group\'s balancer and passive ejection choose the copies\' servers', async t => {
  const main = await startBackend(t, 'main')
  const good = await startShadow(t)
  const down = await refusingUrl()
  const c = config(main.url, good.url)
  c.upstreams.shadow = { servers: [{ url: down }, { url: good.url }], passive: { maxFails: 1, maxEjectionPercent: 100, failTimeout: '1m' } }
  const gw = await startGateway(t, c)
  for (let i = 0; i < 10; i++) t.equal((await call(`${gw.url}/api/${i}`)).status, 200)
  await waitFor(async () => { const m = await mirrorMetrics(gw, 'shadow'); return m.answered + m.failed === 10 }, { what: 'every copy ended' })
  const m = await mirrorMetrics(gw, 'shadow')
  t.equal(m.failed, 1, 'one copy failed on the refusing server, which that ejected')
  t.equal(m.answered, 9, 'the rest went to the server left')
  t.equal(good.copies.length, 9)
  t.equal(await metric(gw, `gatehouse_server_failures_total{upstream="shadow",server="${new URL(down).host}"}`), 1)
  t.equal(await metric(gw, `gatehouse_server_ready{upstream="shadow",server="${new URL(down).host}"}`), 0)
  t.equal(await metric(gw, `gatehouse_server_ready{upstream="api",server="${new URL(main.url).host}"}`), 1)
})

t.test('a copy is bounded by the mirror group\'s timeouts.response, and its slot freed', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  shadow.hold()
  const c = config(main.url, shadow.url, { maxInFlight: 1 })
  c.upstreams.shadow.timeouts = { response: 100 }
  c.upstreams.shadow.passive = { maxFails: 0 }
  const gw = await startGateway(t, c)
  t.equal((await call(`${gw.url}/api/1`)).status, 200)
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).failed === 1, { what: 'the copy timed out' })
  t.equal((await call(`${gw.url}/api/2`)).status, 200)
  t.same(await mirrorMetrics(gw, 'shadow'), { sent: 2, answered: 0, failed: 1, dropped: 0, skipped: 0 }, 'the slot was free again')
})

t.test('an answer that trickles for ever is cut after timeouts.response, and its slot freed', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startBackend(t, 'shadow')
  const timers: NodeJS.Timeout[] = []
  t.teardown(() => { for (const x of timers) clearInterval(x) })
  shadow.handle((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain' })
    // A byte well within each pause the body timeout allows, never an end.
    const timer = setInterval(() => res.write('.'), 10)
    timers.push(timer)
    res.once('close', () => clearInterval(timer))
  })
  const c = config(main.url, shadow.url, { maxInFlight: 1 })
  c.upstreams.shadow.timeouts = { response: 200 }
  const gw = await startGateway(t, c)
  t.equal((await call(`${gw.url}/api/1`)).status, 200)
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).answered === 1, { what: 'the copy answered' })
  // While its answer trickles, the one slot is taken: later copies are dropped, until it is cut.
  await waitFor(async () => {
    t.equal((await call(`${gw.url}/api/more`)).status, 200)
    return (await mirrorMetrics(gw, 'shadow')).sent === 2
  }, { what: 'a second copy sent once the first answer was cut', every: 20 })
  t.equal(shadow.hits.length, 2)
})
