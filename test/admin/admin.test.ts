import t from 'tap'
import { startBackend, startGateway, call } from '../helper'

t.test('the admin API shows every server state and counts, on its own port', async t => {
  const a = await startBackend(t, 'a')
  const dead = await startBackend(t, 'dead')
  await dead.kill()
  const gw = await startGateway(t, {
    admin: { port: 0 },
    upstreams: { u: { passive: { maxFails: 1, failTimeout: '1m' }, servers: [{ url: a.url, id: 'a' }, { url: dead.url, id: 'dead' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const admin = gw.app.gatehouse.adminUrl as string
  t.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to 127.0.0.1 by default')
  for (let i = 0; i < 3; i++) t.equal((await call(`${gw.url}/x`)).status, 200)

  const state = (await call(`${admin}/upstreams`)).json()
  const u = state.upstreams[0]
  t.match(u, { name: 'u', balance: 'round-robin', ready: 1, retries: 1, responses: { '2xx': 3, '5xx': 0 } })
  t.match(u.servers, [
    { id: 'a', state: 'ready', healthy: true, inflight: 0, attempts: 3, failedAttempts: 0, ejectedUntil: null },
    { id: 'dead', state: 'ejected', healthy: true, attempts: 1, failedAttempts: 1, ejectedUntil: String }
  ])

  const metrics = await call(`${admin}/metrics`)
  t.equal(metrics.status, 200)
  t.match(metrics.headers['content-type'], /^text\/plain/)
  t.match(metrics.body, /gatehouse_requests_total\{upstream="u",route="0",status="2xx"\} 3\n/)
  t.match(metrics.body, /gatehouse_retries_total\{upstream="u"\} 1\n/)
  t.match(metrics.body, /gatehouse_server_failures_total\{upstream="u",server="dead"\} 1\n/)
  t.match(metrics.body, /gatehouse_server_ready\{upstream="u",server="dead"\} 0\n/)
  t.match(metrics.body, /gatehouse_server_state\{upstream="u",server="dead",state="ejected"\} 1\n/)
  t.match(metrics.body, /gatehouse_upstream_ready_servers\{upstream="u"\} 1\n/)
  t.match(metrics.body, /gatehouse_process_resident_memory_bytes \d+/, 'process metrics too')

  t.equal((await call(`${admin}/health`)).status, 200)
  t.equal((await call(`${admin}/nope`)).status, 404)
  t.equal((await call(`${admin}/upstreams`, { method: 'POST', body: 'x' })).status, 403, 'no token: the admin API is read-only')
  t.equal((await call(`${admin}/upstreams`, { method: 'PUT', body: 'x' })).status, 405)

  const hits = a.hits.length
  const proxied = await call(`${gw.url}/metrics`)
  t.equal(proxied.headers['x-backend'], 'a', 'the proxy port has no admin paths: /metrics there is proxied')
  t.equal(a.hits.length, hits + 1)
})

t.test('while draining, the admin health check answers 503 so a balancer in front stops sending', async t => {
  const a = await startBackend(t, 'a')
  let release: () => void = () => {}
  const arrived = new Promise<void>(resolve => a.handle((req, res) => { release = () => res.end('done'); resolve() }))
  const gw = await startGateway(t, {
    admin: { port: 0 },
    upstreams: { u: { servers: [{ url: a.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const admin = gw.app.gatehouse.adminUrl as string
  const slow = call(`${gw.url}/slow`)
  await arrived
  const closing = gw.app.close()
  const health = await call(`${admin}/health`)
  t.equal(health.status, 503)
  t.same(health.json(), { status: 'draining' })
  release()
  t.equal((await slow).status, 200, 'the in-flight request still completes')
  await closing
})
