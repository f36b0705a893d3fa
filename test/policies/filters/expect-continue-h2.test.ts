import t from 'tap'
import { connect } from 'node:http2'
import { startBackend } from '../../helper'
import { makeCerts } from '../../tls/certs'
import { startTlsGateway } from '../../tls/gateway'

/** What an HTTP/2 POST with `expect: 100-continue` saw, in order: "continue" (the 100), then its final status. */
async function expecting (url: string, ca: string, path: string, length: number, body: string): Promise<Array<string | number>> {
  const session = connect(url, { ca })
  session.on('error', () => {})
  const seen: Array<string | number> = []
  try {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/octet-stream', 'content-length': String(length), expect: '100-continue' }, { endStream: false })
    stream.on('error', () => {})
    stream.on('continue', () => {
      seen.push('continue')
      stream.end(body)
    })
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, 3000)
      stream.on('response', headers => {
        seen.push(Number(headers[':status']))
        clearTimeout(timer)
        resolve()
      })
      stream.on('close', () => { clearTimeout(timer); resolve() })
    })
    stream.close()
  } finally {
    session.destroy()
  }
  return seen
}

t.test('Expect: 100-continue over HTTP/2: a refused upload gets its refusal and no 100; one that passes gets 100, then its answer', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const b = await startBackend(t, 'b')
  const gw = await startTlsGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/keyed' }, upstream: 'api', filters: { requireHeaders: { 'x-api-key': true } } },
      { match: { path: '/*' }, upstream: 'api', filters: { maxBodySize: 1024 } }
    ],
    listen: { tls: { cert: site.cert, key: site.key }, http2: true }
  }, { baseDir: certs.dir })
  t.same(await expecting(gw.url, certs.caPem, '/big', 10_000, ''), [413], '413 without a 100')
  t.same(await expecting(gw.url, certs.caPem, '/keyed', 5, 'hello'), [401], '401 without a 100')
  t.equal(b.hits.length, 0)
  t.same(await expecting(gw.url, certs.caPem, '/ok', 5, 'hello'), ['continue', 200], 'a passing upload: 100, then its answer')
  t.equal(b.hits.length, 1)
})
