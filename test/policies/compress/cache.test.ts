import t from 'tap'
import { fetchRaw, startCompressing, text } from './support'

const BODY = text(30_000)

t.test('a cache hit is encoded per client: gzip, br and identity each get the right bytes', async t => {
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'text/html')
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('etag', '"c1"')
    res.end(BODY)
  }, { cache: {} })
  const miss = await fetchRaw(`${gw.url}/p`, { 'accept-encoding': 'gzip' })
  t.same([miss.headers['x-cache'], miss.headers['content-encoding']], ['MISS', 'gzip'])
  t.ok(miss.decoded().equals(BODY))
  const clients: Array<[string, string | undefined]> = [['gzip', 'gzip'], ['identity', undefined], ['br', 'br'], ['gzip;q=0', undefined]]
  for (const [accept, coding] of clients) {
    const hit = await fetchRaw(`${gw.url}/p`, { 'accept-encoding': accept })
    t.equal(hit.headers['x-cache'], 'HIT', `${accept}: a hit`)
    t.equal(hit.headers['content-encoding'], coding, `${accept}: ${coding ?? 'plain'}`)
    t.ok(hit.decoded().equals(BODY), `${accept}: the stored body, decoded`)
    t.equal(hit.headers.vary, 'accept-encoding', `${accept}: Vary`)
    t.equal(hit.headers.etag, coding === undefined ? '"c1"' : 'W/"c1"', `${accept}: ETag`)
    const length = hit.headers['content-length']
    t.equal(length, coding === undefined ? String(BODY.length) : length === undefined ? undefined : String(hit.raw.length), `${accept}: a content-length, if any, is that of the bytes sent`)
  }
  t.equal(gw.backend.hits.length, 1, 'one backend request for all of them: the plain body is stored once')
})

t.test('a weakened ETag revalidates against the cache: 304', async t => {
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'text/html')
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('etag', '"c2"')
    res.end(BODY)
  }, { cache: {} })
  const first = await fetchRaw(`${gw.url}/p`, { 'accept-encoding': 'gzip' })
  t.equal(first.headers.etag, 'W/"c2"')
  const again = await fetchRaw(`${gw.url}/p`, { 'accept-encoding': 'gzip', 'if-none-match': 'W/"c2"' })
  t.equal(again.status, 304)
  t.equal(again.raw.length, 0)
})

t.test('a backend that varies on Accept-Encoding itself: each coding stored apart, passed as is', async t => {
  const gw = await startCompressing(t, (req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('vary', 'Accept-Encoding')
    res.end(`plain for ${req.headers['accept-encoding'] ?? 'none'}`)
  }, { cache: {}, compress: { threshold: 0 } })
  const a = await fetchRaw(`${gw.url}/v`, { 'accept-encoding': 'gzip' })
  const b = await fetchRaw(`${gw.url}/v`, { 'accept-encoding': 'identity' })
  t.equal(a.decoded().toString(), 'plain for gzip')
  t.equal(b.decoded().toString(), 'plain for identity')
  t.equal((await fetchRaw(`${gw.url}/v`, { 'accept-encoding': 'gzip' })).headers['x-cache'], 'HIT')
  t.equal(gw.backend.hits.length, 2)
})
