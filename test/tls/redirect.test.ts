import t from 'tap'
import { request } from 'undici'
import { startBackend } from '../helper'
import { waitFor } from '../wait'
import { makeCerts } from './certs'
import { startTlsGateway } from './gateway'

t.test('listen.redirectHttp: plain HTTP gets 301 (GET, HEAD) or 308 (others) to the same host and path over https', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const b = await startBackend(t, 'b')
  const gw = await startTlsGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: site.cert, key: site.key }, redirectHttp: 0 }
  }, { baseDir: certs.dir })
  // Started at onListen, which Fastify runs once listen() has resolved.
  await waitFor(() => gw.app.gatehouse.redirectUrl !== undefined, { what: 'the redirect listener' })
  const plain = gw.app.gatehouse.redirectUrl as string
  t.match(plain, /^http:\/\/127\.0\.0\.1:\d+$/, 'the bound port is exposed')
  t.ok(gw.logs.some(l => l.msg === 'redirecting plain HTTP to https' && l.url === plain), 'and logged')

  const get = await request(`${plain}/a/b?c=d`, { headers: { host: 'shop.example.com:8080' } })
  await get.body.dump()
  t.equal(get.statusCode, 301)
  t.equal(get.headers.location, `https://shop.example.com:${gw.port}/a/b?c=d`, 'same host (its port swapped for the https one) and path')

  const head = await request(`${plain}/h`, { method: 'HEAD', headers: { host: 'shop.example.com' } })
  t.equal(head.statusCode, 301)

  const post = await request(`${plain}/form`, { method: 'POST', body: 'x=1', headers: { host: 'shop.example.com' } })
  await post.body.dump()
  t.equal(post.statusCode, 308, 'a POST keeps its method and body: 308')
  t.equal(post.headers.location, `https://shop.example.com:${gw.port}/form`)

  const bad = await request(`${plain}/`, { headers: { host: 'bad host' } })
  await bad.body.dump()
  t.equal(bad.statusCode, 400, 'an invalid Host is not redirected anywhere')
  t.equal(b.hits.length, 0, 'nothing is proxied from the plain listener')

  await gw.app.close()
  const gone = await request(`${plain}/`).then(() => 'answered', (e: Error & { code?: string }) => e.code)
  t.equal(gone, 'ECONNREFUSED', 'closed with the app')
})
