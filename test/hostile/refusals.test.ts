import t from 'tap'
import { startBackend, startLoggedGateway, call } from '../helper'
import { rawRequest, request } from './raw'

// Every bad path is one kind of answer, GH_BAD_REQUEST, logged once as
// refused, counted as such, and charged to no server, whichever layer finds it: the client's
// mistake never looks like a server's failure (no ejection, no retry budget spent).
t.test('bad paths: one answer, one refused line, counted, no server charged', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startLoggedGateway(t, {
    upstreams: { u: { servers: [{ url: b.url, id: 'b' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    admin: { port: 0 }
  })
  const targets = [
    '/a/../b', // a dot segment: refused before routing
    '/a/%zz', // broken percent-encoding: refused before routing (Fastify would say FST_ERR_BAD_URL)
    '/a%2F..%2Fb', // a dot segment next to an encoded slash: refused before routing
    '/..x' // reply-from's own rule (it reads any "/.." as climbing out): refused after routing
  ]
  for (const target of targets) {
    const before = gw.logs.length
    const answer = await rawRequest(gw.port, request(`GET ${target} HTTP/1.1`))
    t.same(answer.statuses, [400], target)
    t.match(answer.text, /"code":"GH_BAD_REQUEST"/, `${target}: GH_BAD_REQUEST`)
    const lines = gw.logs.slice(before).filter(l => l.msg === 'refused' || l.msg === 'proxied')
    t.equal(lines.length, 1, `${target}: logged once`)
    t.equal(lines[0]?.msg, 'refused', `${target}: as refused`)
    t.equal(lines[0]?.server, undefined, `${target}: no server named`)
  }
  t.equal(b.hits.length, 0, 'no backend saw any of them')

  const upstreams = (await call(`${gw.app.gatehouse.adminUrl}/upstreams`)).json().upstreams
  t.equal(upstreams[0].servers[0].attempts, 0, 'no attempt charged to the server')
  const metrics = (await call(`${gw.app.gatehouse.adminUrl}/metrics`)).body
  t.match(metrics, /gatehouse_refused_before_routing_total\{code="GH_BAD_REQUEST"\} 3/)
  t.match(metrics, /gatehouse_requests_total\{upstream="u",route="0",status="4xx"\} 1/, 'the one found after routing counts on its route\'s group')
  t.equal((await call(`${gw.url}/fine`)).status, 200, 'the gateway keeps serving')
})
