import t from 'tap'
import bcrypt from 'bcryptjs'
import { startBackend, call } from '../../helper'
import { accessLines, startFilterGateway } from './support'

// Cost 4, the lowest bcrypt allows: the test is about the flow, not the hashing time.
const hash = bcrypt.hashSync('s3cret', 4)
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

t.test('basic auth: right passes (without the credentials), wrong, unknown and missing get 401 with the challenge', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/ops/*' }, upstream: 'api', filters: { basicAuth: { realm: 'ops', users: { alice: hash } } } },
      { match: { path: '/pass/*' }, upstream: 'api', filters: { basicAuth: { users: { alice: hash }, passAuthorization: true } } }
    ]
  })
  const ok = await call(`${gw.url}/ops/x`, { headers: { authorization: basic('alice', 's3cret') } })
  t.equal(ok.status, 200)
  t.equal(b.hits.length, 1)
  t.equal(b.hits[0].headers.authorization, undefined, 'the credentials stay at the gateway')
  const again = await call(`${gw.url}/ops/x`, { headers: { authorization: basic('alice', 's3cret') } })
  t.equal(again.status, 200, 'a verified credential is still good the second time (from the cache)')

  for (const [what, headers] of [
    ['wrong password', { authorization: basic('alice', 'nope') }],
    ['unknown user', { authorization: basic('mallory', 's3cret') }],
    ['not Basic', { authorization: 'Bearer abc' }],
    ['missing', {}]
  ] as Array<[string, Record<string, string>]>) {
    const res = await call(`${gw.url}/ops/x`, { headers })
    t.equal(res.status, 401, what)
    t.equal(res.headers['www-authenticate'], 'Basic realm="ops", charset="UTF-8"', what)
    t.match(res.json(), { code: 'GH_UNAUTHORIZED', error: 'Unauthorized' }, what)
  }
  t.equal(b.hits.length, 2, 'no refused request reached the backend')
  t.match(accessLines(gw.logs).filter(l => l.status === 401), Array(4).fill({ msg: 'refused', reason: 'basic-auth' }))

  const passed = await call(`${gw.url}/pass/x`, { headers: { authorization: basic('alice', 's3cret') } })
  t.equal(passed.status, 200)
  t.equal(b.hits.at(-1)?.headers.authorization, basic('alice', 's3cret'), 'passAuthorization: true passes it on')
  const realm = await call(`${gw.url}/pass/x`)
  t.equal(realm.headers['www-authenticate'], 'Basic realm="gatehouse", charset="UTF-8"', 'the default realm')
})
