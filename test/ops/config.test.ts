import t from 'tap'
import { startBackend, startGateway } from '../helper'
import { normalizeConfig } from '../../lib/config'
import { admin, TOKEN } from './admin-client'

const SECRET = 'a-cookie-secret-that-is-long-enough-123'

t.test('GET /config is the effective config with runtime changes, in the file\'s shape, secrets redacted', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN, sync: 'redis://:fleet-secret@127.0.0.1:1' },
    cookieSecret: SECRET,
    rateLimit: { max: 1000, redis: 'redis://user:hunter2-redis@127.0.0.1:1' },
    upstreams: { u: { servers: [{ url: a.url, id: 'a' }], sticky: {} } },
    routes: [{ match: { path: '/*' }, upstream: 'u', rateLimit: false }]
  })
  const url = gw.app.gatehouse.adminUrl as string
  t.equal((await admin(url, 'POST', '/upstreams/u/servers', { token: TOKEN, body: { url: b.url, id: 'b' } })).status, 201)
  const res = await admin(url, 'GET', '/config', { token: TOKEN })
  t.equal(res.status, 200)
  for (const secret of [TOKEN, SECRET, 'hunter2-redis', 'fleet-secret']) t.notOk(res.body.includes(secret), 'no secret in the body')
  const config = res.json()
  t.equal(config.admin.token, '[redacted]')
  t.equal(config.cookieSecret, '[redacted]')
  t.equal(config.rateLimit.redis, 'redis://user:%5Bredacted%5D@127.0.0.1:1')
  t.equal(config.admin.sync, 'redis://:%5Bredacted%5D@127.0.0.1:1')
  t.same(config.upstreams.u.servers.map((s: { id: string }) => s.id), ['a', 'b'], 'the runtime change is in it')
  // Put the secrets back and it is a config Gatehouse accepts, as it would from the file.
  const saved = { ...config, cookieSecret: SECRET, admin: { ...config.admin, token: TOKEN, sync: undefined }, rateLimit: { ...config.rateLimit, redis: 'redis://127.0.0.1:1' } }
  const again = normalizeConfig(saved, { env: {} })
  t.same([...again.upstreams.get('u')!.servers.map(s => s.url)], [a.url, b.url])
  t.equal((await admin(url, 'GET', '/config')).status, 401)
})
