import t from 'tap'
import { answer, fetchRaw, startCompressing, text } from './support'

const BODY = text(20_000)
const plain = answer({ 'content-type': 'text/html; charset=utf-8', etag: '"v1"' }, BODY)

t.test('the coding follows Accept-Encoding: preference, q-values, *, identity', async t => {
  const gw = await startCompressing(t, plain)
  const cases: Array<[string | undefined, string | undefined]> = [
    ['gzip', 'gzip'],
    ['br', 'br'],
    ['gzip, br', 'br'],
    ['br;q=0.5, gzip', 'gzip'],
    ['gzip;q=0, br', 'br'],
    ['br;q=0, *', 'gzip'],
    ['identity', undefined],
    ['gzip;q=0', undefined],
    ['*;q=0', undefined],
    ['deflate', undefined],
    [undefined, undefined]
  ]
  for (const [accept, expected] of cases) {
    const res = await fetchRaw(`${gw.url}/page`, accept === undefined ? {} : { 'accept-encoding': accept })
    const what = `Accept-Encoding: ${accept ?? '(none)'}`
    t.equal(res.status, 200, what)
    t.equal(res.headers['content-encoding'], expected, `${what} → ${expected ?? 'identity'}`)
    t.ok(res.decoded().equals(BODY), `${what}: the body decodes to the backend's bytes`)
    t.equal(res.headers.vary, 'accept-encoding', `${what}: Vary names accept-encoding`)
    if (expected === undefined) {
      t.equal(res.headers['content-length'], String(BODY.length), `${what}: plain, its length kept`)
      t.equal(res.headers.etag, '"v1"', `${what}: the strong ETag kept`)
    } else {
      t.equal(res.headers['content-length'], undefined, `${what}: no content-length on a streamed encoding`)
      t.ok(res.raw.length < BODY.length / 2, `${what}: actually smaller (${res.raw.length} bytes)`)
      t.equal(res.headers.etag, 'W/"v1"', `${what}: the ETag weakened`)
    }
  }
})

t.test('deflate when configured, and the configured order breaks ties', async t => {
  const gw = await startCompressing(t, plain, { compress: { encodings: ['gzip', 'deflate'] } })
  const tie = await fetchRaw(`${gw.url}/page`, { 'accept-encoding': 'deflate, gzip, br' })
  t.equal(tie.headers['content-encoding'], 'gzip', 'br is not offered; gzip comes first in the list')
  const deflate = await fetchRaw(`${gw.url}/page`, { 'accept-encoding': 'deflate' })
  t.equal(deflate.headers['content-encoding'], 'deflate')
  t.ok(deflate.decoded().equals(BODY))
})

t.test('Vary is merged with the backend\'s, never duplicated', async t => {
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'application/json')
    res.setHeader('vary', String(req.headers['x-vary']))
    res.end(BODY)
  })
  const cases: Array<[string, string]> = [
    ['Cookie', 'Cookie, accept-encoding'],
    ['Accept-Encoding', 'Accept-Encoding'],
    ['Origin, accept-encoding', 'Origin, accept-encoding'],
    ['*', '*']
  ]
  for (const [backend, expected] of cases) {
    for (const accept of ['gzip', 'identity']) {
      const res = await fetchRaw(`${gw.url}/j`, { 'accept-encoding': accept, 'x-vary': backend })
      t.equal(res.headers.vary, expected, `backend Vary "${backend}", client ${accept}`)
      t.ok(res.decoded().equals(BODY))
    }
  }
})

t.test('a chunked answer (no content-length) is encoded: its size is unknown', async t => {
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.write(BODY.subarray(0, 10))
    res.write(BODY.subarray(10, 11))
    res.end(BODY.subarray(11))
  })
  const res = await fetchRaw(`${gw.url}/c`, { 'accept-encoding': 'gzip' })
  t.equal(res.headers['content-encoding'], 'gzip')
  t.ok(res.decoded().equals(BODY))
})
