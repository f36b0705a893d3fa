import t from 'tap'
import { startBackend, call } from '../../helper'
import { startFilterGateway } from './support'

t.test('request and response header rules on a proxied answer, with templates', async t => {
  const b = await startBackend(t, 'b')
  b.handle((req, res) => {
    req.resume()
    res.setHeader('server', 'backend/1.0')
    res.setHeader('x-powered-by', 'php')
    res.setHeader('vary', 'accept')
    res.end('ok')
  })
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{
      match: { path: '/*' },
      upstream: 'api',
      requestHeaders: { set: { 'X-Env': 'prod', 'X-Seen': '{clientIp} {host} {path}{query} {requestId}' }, add: { 'X-Tag': 'gw', cookie: 'gw=1' }, remove: ['X-Debug'] },
      responseHeaders: { set: { 'Strict-Transport-Security': 'max-age=31536000' }, add: { vary: 'origin' }, remove: ['Server', 'x-powered-by'] }
    }]
  })
  const res = await call(`${gw.url}/a/b?c=1`, { headers: { 'x-debug': '1', 'x-env': 'dev', 'x-tag': 'client', cookie: 'a=1', 'x-request-id': 'rid-1' } })
  t.equal(res.status, 200)
  const seen = b.hits[0].headers
  t.equal(seen['x-env'], 'prod', 'set replaces')
  t.equal(seen['x-debug'], undefined, 'remove deletes')
  t.equal(seen['x-tag'], 'client, gw', 'add appends')
  t.equal(seen.cookie, 'a=1; gw=1', 'a cookie is added with "; "')
  t.equal(seen['x-seen'], `127.0.0.1 127.0.0.1:${gw.port} /a/b?c=1 rid-1`)
  t.equal(res.headers['strict-transport-security'], 'max-age=31536000')
  t.equal(res.headers.server, undefined)
  t.equal(res.headers['x-powered-by'], undefined)
  t.same(res.headers.vary, ['accept', 'origin'], 'add adds a header line')
})

t.test('response rules apply to the gateway\'s own error answers, and the top-level rules are the default', async t => {
  const b = await startBackend(t, 'b')
  await b.kill()
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    responseHeaders: { set: { 'x-frame-options': 'DENY' } },
    routes: [
      { match: { path: '/down' }, upstream: 'api' },
      { match: { path: '/closed' }, upstream: 'api', filters: { deny: ['0.0.0.0/0'] }, responseHeaders: { set: { 'x-own': '{requestId}' } } }
    ]
  })
  const down = await call(`${gw.url}/down`)
  t.equal(down.status, 502)
  t.equal(down.headers['x-frame-options'], 'DENY', 'on a 502')
  const closed = await call(`${gw.url}/closed`, { headers: { 'x-request-id': 'r-2' } })
  t.equal(closed.status, 403)
  t.equal(closed.headers['x-own'], 'r-2', 'on a filter\'s 403, the route\'s own rules')
  t.equal(closed.headers['x-frame-options'], undefined, 'which replace the default whole')
})
