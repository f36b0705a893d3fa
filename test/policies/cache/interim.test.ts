import t from 'tap'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:http2'
import { startBackend } from '../../helper'
import { makeCerts } from '../../tls/certs'
import { startTlsGateway } from '../../tls/gateway'
import { startCached } from './support'
import type { IncomingMessage, ServerResponse } from 'node:http'

// RFC 9110 §15.2 / RFC 8297: a backend's 103 Early Hints reach the client before the final
// response, over HTTP/1.1 and HTTP/2; the cache stores only the final one.

const LINK = '</style.css>; rel=preload; as=style'

function hinting (req: IncomingMessage, res: ServerResponse): void {
  res.writeEarlyHints({ link: LINK, 'x-hint': 'yes' })
  res.setHeader('cache-control', 'max-age=3600')
  res.end('final')
}

/** An HTTP/1.1 GET: the interim responses seen (status and fields), then the final status and x-cache. */
async function get (url: string): Promise<{ interim: Array<{ status: number, headers: IncomingHttpHeaders }>, status: number, cache: unknown }> {
  return await new Promise((resolve, reject) => {
    const interim: Array<{ status: number, headers: IncomingHttpHeaders }> = []
    const req = httpRequest(url, res => {
      res.resume()
      res.on('end', () => resolve({ interim, status: res.statusCode ?? 0, cache: res.headers['x-cache'] }))
    })
    req.on('information', info => interim.push({ status: info.statusCode, headers: info.headers }))
    req.on('error', reject)
    req.end()
  })
}

t.test('RFC 8297 over HTTP/1.1: 103 Early Hints are passed on, and a hit sends none (interim responses are never stored)', async t => {
  const gw = await startCached(t, hinting)
  const miss = await get(`${gw.url}/page`)
  t.equal(miss.status, 200)
  t.equal(miss.cache, 'MISS')
  t.equal(miss.interim.length, 1)
  t.equal(miss.interim[0].status, 103)
  t.equal(miss.interim[0].headers.link, LINK)
  t.equal(miss.interim[0].headers['x-hint'], 'yes')
  const hit = await get(`${gw.url}/page`)
  t.equal(hit.cache, 'HIT')
  t.same(hit.interim, [], 'no interim response from the store')
})

t.test('RFC 8297 over HTTP/2: 103 Early Hints are passed on before the final response', async t => {
  const certs = makeCerts(t)
  const site = certs.leaf('site', 'gatehouse.test', ['127.0.0.1'])
  const b = await startBackend(t, 'b')
  b.handle(hinting)
  const gw = await startTlsGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    listen: { tls: { cert: site.cert, key: site.key }, http2: true }
  }, { baseDir: certs.dir })
  const session = connect(gw.url, { ca: certs.caPem })
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  const seen: Array<string | number> = []
  await new Promise<void>((resolve, reject) => {
    const stream = session.request({ ':path': '/page' })
    stream.on('error', reject)
    stream.on('headers', headers => seen.push(Number(headers[':status']), String(headers.link)))
    stream.on('response', headers => seen.push(Number(headers[':status'])))
    stream.resume()
    stream.on('end', () => resolve())
  })
  t.same(seen, [103, LINK, 200])
})

t.test('RFC 9110 §15.2: an HTTP/1.0 client gets no interim response, only the final one', async t => {
  const gw = await startCached(t, hinting)
  const { connect: tcp } = await import('node:net')
  const port = new URL(gw.url).port
  const text = await new Promise<string>((resolve, reject) => {
    const socket = tcp(Number(port), '127.0.0.1', () => socket.write('GET /old HTTP/1.0\r\nHost: localhost\r\n\r\n'))
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', chunk => { data += chunk })
    socket.on('end', () => resolve(data))
    socket.on('error', reject)
  })
  t.match(text, /^HTTP\/1\.1 200 /, 'the first status line is the final one')
  t.notMatch(text, / 103 /)
})
