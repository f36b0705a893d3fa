import t from 'tap'
import { call } from '../../helper'
import { startCached } from './support'

// RFC 9111 §4.4: a successful unsafe request invalidates what the cache holds for its target,
// and for the Location and Content-Location it names on the same host.

type Test = { teardown (fn: () => unknown): void }

/** A backend caching GETs for an hour and answering other methods `status`, with `headers`. */
async function setup (t: Test, status = 200, headers: Record<string, string> = {}) {
  const gw = await startCached(t, (req, res) => {
    if (req.method === 'GET') {
      res.setHeader('cache-control', 'max-age=3600')
      res.end(`get ${req.url}`)
      return
    }
    req.resume()
    res.statusCode = status
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
    res.end(`${req.method} done`)
  })
  const stored = async (path: string) => String((await call(`${gw.url}${path}`)).headers['x-cache'])
  return { gw, stored }
}

t.test('RFC 9111 §4.4: a successful POST, PUT, DELETE or extension method invalidates the stored GET', async t => {
  for (const method of ['POST', 'PUT', 'DELETE', 'M-SEARCH', 'PATCH']) {
    const { gw, stored } = await setup(t)
    await call(`${gw.url}/a`)
    t.equal(await stored('/a'), 'HIT', `${method}: stored first`)
    const unsafe = await call(`${gw.url}/a`, { method, body: 'x' })
    t.equal(unsafe.status, 200, `${method} reaches the backend`)
    t.equal(unsafe.body, `${method} done`)
    t.equal(await stored('/a'), 'MISS', `${method} invalidated it`)
  }
})

t.test('RFC 9111 §4.4: a safe method (QUERY, PROPFIND) invalidates nothing', async t => {
  for (const method of ['QUERY', 'PROPFIND']) {
    const { gw, stored } = await setup(t)
    await call(`${gw.url}/a`)
    t.equal((await call(`${gw.url}/a`, { method, body: 'x', headers: { 'content-type': 'text/plain' } })).status, 200, `${method} reaches the backend`)
    t.equal(await stored('/a'), 'HIT', method)
  }
})

t.test('RFC 9111 §4.4: a failed unsafe request invalidates nothing', async t => {
  const { gw, stored } = await setup(t, 500)
  await call(`${gw.url}/a`)
  await call(`${gw.url}/a`, { method: 'POST', body: 'x' })
  t.equal(await stored('/a'), 'HIT')
})

t.test('RFC 9111 §4.4: Location and Content-Location on the same host are invalidated, another host is not', async t => {
  const { gw, stored } = await setup(t, 201, { location: '/created', 'content-location': 'http://elsewhere.example/other' })
  await call(`${gw.url}/created`)
  await call(`${gw.url}/other`)
  await call(`${gw.url}/a`, { method: 'POST', body: 'x' })
  t.equal(await stored('/created'), 'MISS', 'Location')
  t.equal(await stored('/other'), 'HIT', 'another host: left alone')
  // The Host the client sent, as the backend sees it: an absolute Location to the same host.
  const abs = await startCached(t, (req, res) => {
    if (req.method === 'GET') {
      res.setHeader('cache-control', 'max-age=3600')
      res.end('get')
      return
    }
    res.statusCode = 303
    res.setHeader('location', `http://${req.headers.host}/b?q=1`)
    res.end()
  })
  await call(`${abs.url}/b?q=1`)
  t.equal((await call(`${abs.url}/b?q=1`)).headers['x-cache'], 'HIT')
  await call(`${abs.url}/a`, { method: 'PUT', body: 'x' })
  t.equal((await call(`${abs.url}/b?q=1`)).headers['x-cache'], 'MISS', 'an absolute Location on the same host')
})

t.test('every variant of the URL goes', async t => {
  const gw = await startCached(t, (req, res) => {
    if (req.method === 'GET') {
      res.setHeader('cache-control', 'max-age=3600')
      res.setHeader('vary', 'accept-language')
      res.end(String(req.headers['accept-language']))
      return
    }
    res.end('ok')
  })
  for (const lang of ['en', 'fr']) await call(`${gw.url}/v`, { headers: { 'accept-language': lang } })
  await call(`${gw.url}/v`, { method: 'DELETE' })
  for (const lang of ['en', 'fr']) t.equal((await call(`${gw.url}/v`, { headers: { 'accept-language': lang } })).headers['x-cache'], 'MISS', lang)
})
