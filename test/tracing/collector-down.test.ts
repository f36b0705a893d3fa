import t from 'tap'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { call, startBackend, startLoggedGateway } from '../helper'
import { waitFor } from '../wait'
import { parseTraceparent } from './support'

t.test('an unreachable collector never touches the answers; the failure is logged once', async t => {
  // A port that was just free: nothing listens there.
  const probe = createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const port = probe.address() as AddressInfo
  await new Promise(resolve => probe.close(resolve))

  const b = await startBackend(t, 'b')
  const gw = await startLoggedGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    tracing: { endpoint: `http://127.0.0.1:${port.port}/v1/traces`, batchDelay: 10, exportTimeout: 500 }
  })
  const answers = await Promise.all(Array.from({ length: 40 }, async (_, i) => await call(`${gw.url}/r${i}`)))
  t.same(answers.map(a => a.status), Array(40).fill(200), 'every request answered')
  t.ok(b.hits.every(h => parseTraceparent(h.headers.traceparent) !== undefined), 'and traced to the backend')
  await waitFor(() => gw.count(/^tracing: spans could not be sent/) > 0, { what: 'the warning that the collector is down' })
  // More requests while it is down: still answered, and no second warning for the same outage.
  for (let i = 0; i < 5; i++) t.equal((await call(`${gw.url}/more${i}`)).status, 200)
  const warning = gw.logs.find(l => /^tracing: spans could not be sent/.test(l.msg))
  t.equal(warning?.level, 40, 'a warning')
  t.equal(warning?.endpoint, `http://127.0.0.1:${port.port}/v1/traces`, 'naming the endpoint')
  // Closing still ends: the spans held are given up after exportTimeout.
  await gw.app.close()
  t.equal(gw.count(/^tracing: spans could not be sent/), 1, 'one warning for the outage')
})

t.test('a collector that answers 500 or hangs: answers stay the same; its recovery is logged', async t => {
  let mode: 'fail' | 'ok' | 'hang' = 'fail'
  const collector = createServer((req, res) => {
    req.resume()
    if (mode === 'fail') res.writeHead(500).end('no')
    else if (mode === 'ok') req.once('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
    // 'hang': never answered; the exporter gives up after exportTimeout.
  })
  collector.listen(0, '127.0.0.1')
  await once(collector, 'listening')
  t.teardown(() => { collector.closeAllConnections(); collector.close() })
  const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`
  const b = await startBackend(t, 'b')
  const gw = await startLoggedGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    tracing: { endpoint: url, batchDelay: 10, exportTimeout: 300 }
  })
  for (let i = 0; i < 10; i++) t.equal((await call(`${gw.url}/a${i}`)).status, 200)
  await waitFor(() => gw.count(/^tracing: spans could not be sent/) > 0, { what: 'the warning' })
  mode = 'ok'
  for (let i = 0; i < 5; i++) t.equal((await call(`${gw.url}/ok${i}`)).status, 200)
  await waitFor(() => gw.count(/^tracing: the collector takes spans again/) > 0, { what: 'the recovery logged' })
  mode = 'hang'
  for (let i = 0; i < 10; i++) t.equal((await call(`${gw.url}/b${i}`)).status, 200)
  await gw.app.close()
})
