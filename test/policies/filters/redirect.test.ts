import t from 'tap'
import { startBackend, call } from '../../helper'
import { accessLines, startFilterGateway } from './support'

t.test('redirect routes answer without a backend and need no upstream', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/old/*' }, redirect: { to: 'https://new.example.com{path}{query}', status: 301 } },
      { match: { path: '/tmp' }, redirect: { to: '/elsewhere' } },
      { match: { path: '/keep' }, redirect: { to: '/kept', status: 307 }, filters: { methods: ['GET'] } },
      { match: { path: '/perm' }, redirect: { to: '/p', status: 308 } },
      { match: { path: '/*' }, upstream: 'api' }
    ]
  })
  const moved = await call(`${gw.url}/old/a?b=1`)
  t.equal(moved.status, 301)
  t.equal(moved.headers.location, 'https://new.example.com/old/a?b=1')
  const tmp = await call(`${gw.url}/tmp`)
  t.equal(tmp.status, 302, 'the default status')
  t.equal(tmp.headers.location, '/elsewhere')
  t.equal((await call(`${gw.url}/keep`, { method: 'POST', body: 'x' })).status, 405, 'a redirect route\'s filters still run')
  t.equal((await call(`${gw.url}/keep`)).status, 307)
  t.equal((await call(`${gw.url}/perm`, { method: 'POST', body: 'x'.repeat(100_000) })).status, 308)
  t.equal(b.hits.length, 0, 'no backend touched')
  t.match(accessLines(gw.logs)[0], { msg: 'redirected', status: 301 })
})
