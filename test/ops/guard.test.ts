import t from 'tap'
import { startBackend, startGateway } from '../helper'
import { normalizeConfig } from '../../lib/config'
import { admin, TOKEN } from './admin-client'

const base = (url: string) => ({ upstreams: { u: { servers: [{ url, id: 'a' }] } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] })

t.test('with a token, every path but GET /health needs it, and a 401 tells nothing', async t => {
  const a = await startBackend(t, 'a')
  const gw = await startGateway(t, { ...base(a.url), admin: { port: 0, token: TOKEN } })
  const url = gw.app.gatehouse.adminUrl as string

  t.equal((await admin(url, 'GET', '/health')).status, 200, '/health is open')
  for (const path of ['/upstreams', '/metrics', '/config', '/events', '/nope']) {
    const none = await admin(url, 'GET', path)
    t.equal(none.status, 401, `${path} without a token`)
    t.same(none.json(), { statusCode: 401, code: 'GH_ADMIN_UNAUTHORIZED', error: 'Unauthorized', message: 'Unauthorized' })
    const wrong = await admin(url, 'GET', path, { token: TOKEN.slice(0, -1) + 'x' })
    t.equal(wrong.status, 401, `${path} with a wrong token`)
    t.equal(wrong.body, none.body, 'a near miss answers exactly as no token does')
  }
  const ok = await admin(url, 'GET', '/upstreams', { token: TOKEN })
  t.equal(ok.status, 200)
  t.equal(ok.json().upstreams[0].servers[0].url, a.url, 'backend urls shown with the token')
  t.equal((await admin(url, 'GET', '/upstreams', { headers: { authorization: `Basic ${TOKEN}` } })).status, 401, 'only Bearer')
})

t.test('without a token the admin API reads but refuses every write with 403 GH_ADMIN_READ_ONLY', async t => {
  const a = await startBackend(t, 'a')
  const gw = await startGateway(t, { ...base(a.url), admin: { port: 0 } })
  const url = gw.app.gatehouse.adminUrl as string
  t.equal((await admin(url, 'GET', '/upstreams')).status, 200)
  for (const [method, path, body] of [
    ['POST', '/upstreams/u/servers', { url: 'http://127.0.0.1:1' }],
    ['PATCH', '/upstreams/u/servers/a', { state: 'drain' }],
    ['DELETE', '/upstreams/u/servers/a', undefined]
  ] as const) {
    const res = await admin(url, method, path, { body, token: TOKEN })
    t.equal(res.status, 403, `${method} ${path}`)
    t.equal(res.json().code, 'GH_ADMIN_READ_ONLY')
  }
  t.equal(gw.app.gatehouse.registry.get('u')?.backends.get('a')?.adminState, 'ready', 'nothing changed')
})

t.test('only a loopback Host or one in admin.hosts is answered (421 otherwise: DNS rebinding)', async t => {
  const a = await startBackend(t, 'a')
  const gw = await startGateway(t, { ...base(a.url), admin: { port: 0, token: TOKEN, hosts: ['gatehouse-admin.internal'] } })
  const url = gw.app.gatehouse.adminUrl as string
  const port = new URL(url).port
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'gatehouse-admin.internal', `GATEHOUSE-ADMIN.internal:${port}`]) {
    t.equal((await admin(url, 'GET', '/upstreams', { token: TOKEN, host })).status, 200, host)
  }
  for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `10.0.0.1:${port}`]) {
    const res = await admin(url, 'GET', '/upstreams', { token: TOKEN, host })
    t.equal(res.status, 421, host)
    t.equal(res.json().code, 'GH_ADMIN_MISDIRECTED')
  }
  t.equal((await admin(url, 'GET', '/health', { host: 'balancer-probe.example' })).status, 200, '/health answers any Host: balancers probe by address')
})

t.test('a non-loopback admin listener without a token is a config error saying why', async t => {
  const cfg = (admin: object) => ({ ...base('http://127.0.0.1:1'), admin })
  t.throws(() => normalizeConfig(cfg({ port: 0, host: '0.0.0.0' }), { env: {} }), /admin\.host: "0\.0\.0\.0" is not a loopback address, so admin\.token \(or GATEHOUSE_ADMIN_TOKEN\) is required/)
  t.equal(normalizeConfig(cfg({ port: 0, host: '0.0.0.0' }), { env: { GATEHOUSE_ADMIN_TOKEN: TOKEN } }).admin?.token, TOKEN, 'the token may come from the environment')
  t.equal(normalizeConfig(cfg({ port: 0, host: '::1' }), { env: {} }).admin?.token, undefined, 'loopback needs none')
  t.throws(() => normalizeConfig(cfg({ port: 0, token: 'short' }), { env: {} }), /admin\.token/)
  t.throws(() => normalizeConfig(cfg({ port: 0 }), { env: { GATEHOUSE_ADMIN_TOKEN: 'short' } }), /admin\.token: must be at least 16 characters/)
  t.throws(() => normalizeConfig(cfg({ port: 0, tokn: TOKEN }), { env: {} }), /admin\.tokn: unknown key/, 'the admin object is closed')
})
