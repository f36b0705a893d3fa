import t from 'tap'
import { connect } from 'node:http2'
import { startBackend } from '../helper'
import { makeCerts } from '../tls/certs'
import { startTlsGateway } from '../tls/gateway'
import { waitFor } from '../wait'
import { startShadow } from './support'

t.test('an HTTP/2 client\'s request is copied as the backend gets it: no pseudo-headers, :authority as the Host, the body', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  const gw = await startTlsGateway(t, {
    upstreams: { api: { servers: [{ url: main.url }] }, shadow: { servers: [{ url: shadow.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', mirror: { upstream: 'shadow' } }],
    listen: { tls: { cert: site.cert, key: site.key }, http2: true }
  }, { baseDir: certs.dir })
  const session = connect(gw.url, { ca: certs.caPem })
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  const status = await new Promise<number>((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': '/h2/x?q=1', ':authority': 'shop.example.com', 'x-custom': 'kept', 'content-type': 'text/plain' })
    stream.on('error', reject)
    let code = 0
    stream.on('response', headers => { code = Number(headers[':status']) })
    stream.resume()
    stream.on('end', () => resolve(code))
    stream.end('hello over h2')
  })
  t.equal(status, 200)
  await waitFor(() => shadow.copies.length === 1, { what: 'the copy' })
  const copy = shadow.copies[0]
  t.equal(copy.method, 'POST')
  t.equal(copy.url, '/h2/x?q=1')
  t.equal(copy.body.toString(), 'hello over h2')
  t.equal(copy.headers['x-custom'], 'kept')
  t.same(Object.keys(copy.headers).filter(n => n.startsWith(':')), [], 'no pseudo-header sent on')
  t.equal(copy.headers.host, main.hits[0].headers.host, 'the Host as the backend got it')
  t.same(copy.headers, main.hits[0].headers, 'every header as the backend got it')
})
