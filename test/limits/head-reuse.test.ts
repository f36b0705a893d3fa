import t from 'tap'
import { startBackend, startGateway, call } from '../helper'

t.test('HEAD requests stay on the pool: two in a row reuse one backend connection', async t => {
  const b = await startBackend(t, 'b')
  let connections = 0
  b.server.on('connection', () => { connections++ })
  const closes: string[] = []
  b.handle((req, res) => {
    closes.push(String(req.headers.connection))
    res.setHeader('content-length', '5')
    res.end(req.method === 'HEAD' ? undefined : 'hello')
  })
  const gw = await startGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  for (let i = 0; i < 2; i++) {
    const res = await call(`${gw.url}/x`, { method: 'HEAD' })
    t.equal(res.status, 200)
    t.equal(res.headers['content-length'], '5')
    t.equal(res.body, '')
  }
  const get = await call(`${gw.url}/x`)
  t.equal(get.body, 'hello', 'a GET after the HEADs reads its body whole from the same connection')
  t.same(closes, ['keep-alive', 'keep-alive', 'keep-alive'], 'no request asked the backend to close')
  t.equal(connections, 1, 'one backend connection served them all')
})
