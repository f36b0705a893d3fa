import t from 'tap'
import { Upstream } from '../../../lib/upstreams/upstream'
import { normalizeConfig } from '../../../lib/config'

function upstream (servers: Array<{ url: string, backup?: boolean }>) {
  const config = normalizeConfig({ upstreams: { u: { servers } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }, { env: {} })
  return new Upstream(config.upstreams.get('u')!)
}
const req = { ip: '127.0.0.1', url: '/', headers: {} }

t.test('tried servers are skipped, then backups, then nothing', async t => {
  const u = upstream([{ url: 'http://a:1' }, { url: 'http://b:1' }, { url: 'http://c:1', backup: true }])
  const [a, b, c] = u.backends.all()
  t.equal(u.select(req, { tried: [a] }), b)
  t.equal(u.select(req, { tried: [a, b] }), c, 'the backup once every primary was tried')
  t.equal(u.select(req, { tried: [a, b, c] }), undefined)
})

t.test('a preferred server wins only while it is a candidate', async t => {
  const u = upstream([{ url: 'http://a:1' }, { url: 'http://b:1' }])
  const [a, b] = u.backends.all()
  for (let i = 0; i < 4; i++) t.equal(u.select(req, { preferred: b }), b)
  b.healthy = false
  u.backends.markChanged()
  t.equal(u.select(req, { preferred: b }), a, 'not while it is down')
  b.healthy = true
  u.backends.markChanged()
  t.equal(u.select(req, { tried: [b], preferred: b }), a, 'not once tried')
})
