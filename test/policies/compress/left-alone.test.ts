import t from 'tap'
import { gzipSync } from 'node:zlib'
import { answer, fetchRaw, startCompressing, text } from './support'

const BODY = text(20_000)
const GZIP = { 'accept-encoding': 'gzip, br' }

t.test('an answer the backend encoded itself passes as it is, bytes unchanged', async t => {
  const encoded = gzipSync(BODY)
  const gw = await startCompressing(t, answer({ 'content-type': 'text/html', 'content-encoding': 'gzip', etag: '"e1"', vary: 'Accept-Encoding' }, encoded))
  const res = await fetchRaw(`${gw.url}/p`, GZIP)
  t.equal(res.headers['content-encoding'], 'gzip')
  t.ok(res.raw.equals(encoded), 'the backend\'s gzip bytes, not encoded again')
  t.equal(res.headers['content-length'], String(encoded.length), 'its length kept')
  t.equal(res.headers.etag, '"e1"', 'its ETag kept strong')
  t.equal(res.headers.vary, 'Accept-Encoding', 'its Vary kept as it was')
})

t.test('a body under the threshold is sent as it is', async t => {
  const small = text(1023)
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(req.url === '/small' ? small : text(1024))
  })
  const res = await fetchRaw(`${gw.url}/small`, GZIP)
  t.equal(res.headers['content-encoding'], undefined, '1023 bytes by content-length: under the default 1024')
  t.ok(res.raw.equals(small))
  t.equal(res.headers['content-length'], '1023')
  t.equal(res.headers.vary, undefined, 'not a candidate: no Vary either')
  const at = await fetchRaw(`${gw.url}/at`, GZIP)
  t.equal(at.headers['content-encoding'], 'br', '1024 bytes: encoded')
  t.ok(at.decoded().equals(text(1024)))
})

t.test('a threshold as a size string', async t => {
  const gw = await startCompressing(t, answer({ 'content-type': 'text/plain' }, BODY), { compress: { threshold: '32KB' } })
  t.equal((await fetchRaw(`${gw.url}/p`, GZIP)).headers['content-encoding'], undefined, '20000 bytes under 32 KiB')
})

t.test('types that are not compressible, and answers without a type, are left alone', async t => {
  const gw = await startCompressing(t, (req, res) => {
    const type = new URL(req.url ?? '/', 'http://x').searchParams.get('type')
    if (type !== null) res.setHeader('content-type', type)
    res.end(BODY)
  })
  const cases: Array<[string | null, boolean]> = [
    ['image/png', false],
    ['application/octet-stream', false],
    ['application/zip', false],
    ['text/event-stream', false],
    [null, false],
    ['text/css', true],
    ['application/json; charset=utf-8', true],
    ['application/problem+json', true],
    ['image/svg+xml', true],
    ['application/javascript', true]
  ]
  for (const [type, encoded] of cases) {
    const res = await fetchRaw(`${gw.url}/t${type === null ? '' : `?type=${encodeURIComponent(type)}`}`, GZIP)
    t.equal(res.headers['content-encoding'], encoded ? 'br' : undefined, `${type ?? '(no type)'}: ${encoded ? 'encoded' : 'as is'}`)
    t.ok(res.decoded().equals(BODY), `${type ?? '(no type)'}: the body intact`)
  }
})

t.test('types: a configured list replaces the built-in one', async t => {
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', req.url === '/csv' ? 'text/csv' : 'application/json')
    res.end(BODY)
  }, { compress: { types: ['text/*', 'application/x-custom'] } })
  t.equal((await fetchRaw(`${gw.url}/csv`, GZIP)).headers['content-encoding'], 'br', 'text/* covers text/csv')
  t.equal((await fetchRaw(`${gw.url}/json`, GZIP)).headers['content-encoding'], undefined, 'JSON not listed: as is')
})

t.test('HEAD keeps the plain answer\'s fields, with the Vary', async t => {
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'text/html')
    res.setHeader('content-length', String(BODY.length))
    res.setHeader('etag', '"h1"')
    res.end(req.method === 'HEAD' ? undefined : BODY)
  })
  const res = await fetchRaw(`${gw.url}/h`, GZIP, 'HEAD')
  t.equal(res.status, 200)
  t.equal(res.headers['content-encoding'], undefined)
  t.equal(res.headers['content-length'], String(BODY.length))
  t.equal(res.headers.etag, '"h1"')
  t.equal(res.headers.vary, 'accept-encoding')
  t.equal(res.raw.length, 0)
})

t.test('204 and 304 are untouched', async t => {
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'text/html')
    res.setHeader('etag', '"n1"')
    res.statusCode = req.url === '/204' ? 204 : 304
    res.end()
  })
  for (const status of [204, 304]) {
    const res = await fetchRaw(`${gw.url}/${status}`, { ...GZIP, 'if-none-match': '"n1"' })
    t.equal(res.status, status)
    t.equal(res.headers['content-encoding'], undefined, `${status}: no coding`)
    t.equal(res.headers.vary, undefined, `${status}: no Vary added`)
    t.equal(res.headers.etag, '"n1"', `${status}: ETag as the backend sent it`)
    t.equal(res.raw.length, 0)
  }
})

t.test('206 partial content and Cache-Control: no-transform are untouched', async t => {
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'text/plain')
    if (req.url === '/range') {
      res.statusCode = 206
      res.setHeader('content-range', `bytes 0-${BODY.length - 1}/${BODY.length * 2}`)
    } else {
      res.setHeader('cache-control', 'public, no-transform')
    }
    res.end(BODY)
  })
  for (const path of ['/range', '/no-transform']) {
    const res = await fetchRaw(`${gw.url}${path}`, GZIP)
    t.equal(res.headers['content-encoding'], undefined, path)
    t.ok(res.raw.equals(BODY), `${path}: bytes unchanged`)
  }
})

t.test('a plain body whose first bytes look like gzip or zlib is sent plain, intact', async t => {
  // @fastify/compress would label these "br" and send them unencoded (lib/compress/decision.ts).
  const bodies: Record<string, Buffer> = {
    '/zlib-like': Buffer.concat([Buffer.from('80 items\n'), BODY]),
    '/gzip-like': Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08]), BODY]),
    '/normal': Buffer.concat([Buffer.from('81 items\n'), BODY])
  }
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'text/plain')
    if (req.url?.endsWith('chunked') === true) {
      const body = bodies[req.url.replace('/chunked', '')]
      res.write(body.subarray(0, 1))
      setImmediate(() => res.end(body.subarray(1)))
    } else {
      res.end(bodies[req.url ?? ''])
    }
  })
  for (const [path, body] of Object.entries(bodies)) {
    for (const suffix of ['', '/chunked']) {
      const res = await fetchRaw(`${gw.url}${path}${suffix}`, GZIP)
      t.equal(res.headers['content-encoding'], path === '/normal' ? 'br' : undefined, `${path}${suffix}`)
      t.ok(res.decoded().equals(body), `${path}${suffix}: decodes to the backend's bytes`)
    }
  }
})

t.test('the gateway\'s own small errors are left alone', async t => {
  const gw = await startCompressing(t, answer({}, ''))
  await gw.backend.kill()
  const res = await fetchRaw(`${gw.url}/down`, GZIP)
  t.equal(res.status, 502)
  t.equal(res.headers['content-encoding'], undefined)
  t.match(JSON.parse(res.raw.toString()), { code: /^GH_/ })
})
