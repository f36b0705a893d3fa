import t from 'tap'
import { call } from '../../helper'
import { startCached } from './support'

t.test('Vary: each value of the named field is a variant of its own', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('vary', 'Accept-Language')
    res.end(`lang ${req.headers['accept-language'] ?? 'none'}`)
  })
  const en = { 'accept-language': 'en' }
  const fr = { 'accept-language': 'fr' }
  t.equal((await call(`${gw.url}/a`, { headers: en })).body, 'lang en')
  t.equal((await call(`${gw.url}/a`, { headers: fr })).headers['x-cache'], 'MISS')
  const hitEn = await call(`${gw.url}/a`, { headers: en })
  const hitFr = await call(`${gw.url}/a`, { headers: fr })
  t.same([hitEn.headers['x-cache'], hitEn.body], ['HIT', 'lang en'])
  t.same([hitFr.headers['x-cache'], hitFr.body], ['HIT', 'lang fr'])
  t.equal((await call(`${gw.url}/a`)).body, 'lang none', 'no field is a value too')
  t.equal(gw.backend.hits.length, 3)
})

t.test('Vary: * is never served from the cache', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('vary', '*')
    res.end('x')
  })
  await call(`${gw.url}/a`)
  t.equal((await call(`${gw.url}/a`)).headers['x-cache'], 'MISS')
})

t.test('the host is part of the key', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.end(`host ${req.headers.host}`)
  })
  t.equal((await call(`${gw.url}/a`, { headers: { host: 'a.example' } })).body, 'host a.example')
  t.equal((await call(`${gw.url}/a`, { headers: { host: 'b.example' } })).body, 'host b.example')
  t.equal((await call(`${gw.url}/a`, { headers: { host: 'a.example' } })).headers['x-cache'], 'HIT')
})
