import t from 'tap'
import { startBackend, startGateway, call } from '../helper'
import { waitFor } from '../wait'
import { admin, TOKEN } from './admin-client'

/** The series (name and labels) of a metrics text, without their values. */
const seriesOf = (text: string, name: RegExp) => text.split('\n').filter(l => name.test(l)).map(l => l.replace(/ [^ ]+$/, '')).sort()

t.test('server state series stay the same across a transition; the histogram and the new counters are there', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  let up = true
  b.handle((req, res) => { res.statusCode = up ? 200 : 503; res.end() })
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: { u: { servers: [{ url: a.url, id: 'a' }, { url: b.url, id: 'b' }], healthCheck: { interval: 20, healthyThreshold: 1, unhealthyThreshold: 1 } } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const url = gw.app.gatehouse.adminUrl as string
  const scrape = async () => (await admin(url, 'GET', '/metrics', { token: TOKEN })).body
  await call(`${gw.url}/x`)

  const before = await scrape()
  const stateSeries = /^gatehouse_server_(ready|state)\{/
  t.match(before, /gatehouse_server_ready\{upstream="u",server="b"\} 1\n/)
  t.match(before, /gatehouse_server_state\{upstream="u",server="b",state="ready"\} 1\n/)
  t.match(before, /gatehouse_server_state\{upstream="u",server="b",state="unhealthy"\} 0\n/)
  up = false
  await waitFor(() => gw.app.gatehouse.registry.get('u')?.backends.get('b')?.healthy === false, { what: 'b unhealthy' })
  const after = await scrape()
  t.same(seriesOf(after, stateSeries), seriesOf(before, stateSeries), 'the same series before and after: only values change')
  t.match(after, /gatehouse_server_ready\{upstream="u",server="b"\} 0\n/)
  t.match(after, /gatehouse_server_state\{upstream="u",server="b",state="unhealthy"\} 1\n/)
  t.match(after, /gatehouse_server_state\{upstream="u",server="b",state="ready"\} 0\n/)
  t.match(after, /gatehouse_health_transitions_total\{upstream="u",to="unhealthy"\} 1\n/)

  t.match(after, /# TYPE gatehouse_request_duration_seconds histogram\n/)
  t.match(after, /gatehouse_request_duration_seconds_bucket\{upstream="u",route="0",le="0\.001"\} \d+\n/)
  t.match(after, /gatehouse_request_duration_seconds_bucket\{upstream="u",route="0",le="30"\} 1\n/)
  t.match(after, /gatehouse_request_duration_seconds_bucket\{upstream="u",route="0",le="\+Inf"\} 1\n/)
  t.match(after, /gatehouse_request_duration_seconds_count\{upstream="u",route="0"\} 1\n/)
  t.match(after, /gatehouse_request_duration_seconds_sum\{upstream="u",route="0"\} 0\.\d+\n/)

  await admin(url, 'PATCH', '/upstreams/u/servers/a', { token: TOKEN, body: { weight: 2 } })
  t.match(await scrape(), /gatehouse_admin_changes_total\{action="update"\} 1\n/)
  const labels = new Set([...after.matchAll(/^gatehouse_[a-z_]+\{([^}]*)\}/gm)].flatMap(m => m[1].split(',').map(kv => kv.split('=')[0])))
  t.same([...labels].filter(l => !['upstream', 'route', 'server', 'state', 'status', 'to', 'le', 'action', 'code', 'type', 'version', 'major', 'minor', 'patch', 'space', 'kind'].includes(l)), [], 'no unbounded label names')
})
