import t from 'tap'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CacheStore } from '../../lib/cache/store'
import { Coalescer } from '../../lib/cache/coalescer'
import { Capture } from '../../lib/cache/capture'
import { primaryKey, purgeMatch } from '../../lib/cache/key'
import { policyMaker, policyRequest, staleAllowed, worthStoring } from '../../lib/cache/policy'
import { notModified } from '../../lib/cache/conditional'
import { parseSize } from '../../lib/config/size'
import { routeCache } from '../../lib/config/normalize/cache'
import { normalizeConfig } from '../../lib/config'

let now = 1_000_000
const policy = policyMaker({ now: () => now })

function entry (store: CacheStore, target: string, headers: Record<string, string>, body: string, req: Record<string, string> = {}) {
  const asked = policyRequest(target, { host: 'h', ...req })
  const p = policy(asked, { status: 200, headers })
  return store.set({ primary: primaryKey('u', 'h', target), upstream: 'u', host: 'h', target, status: 200, policy: p, body: Buffer.from(body) }, asked.headers)
}

t.test('sizes', async t => {
  t.equal(parseSize(10), 10)
  t.equal(parseSize('512KB'), 512 * 1024)
  t.equal(parseSize('8MB'), 8 * 1024 * 1024)
  t.equal(parseSize('1.5GB'), 1.5 * 1024 ** 3)
  t.equal(parseSize('100'), 100)
  t.throws(() => parseSize('8 MB'))
})

t.test('config: route over upstream over top level; false turns it off', async t => {
  const config = normalizeConfig({
    cache: { staleIfError: '1m' },
    upstreams: { a: { servers: [{ url: 'http://127.0.0.1:1' }], cache: { staleIfError: '2m' } }, b: { servers: [{ url: 'http://127.0.0.1:2' }], cache: false } },
    routes: [
      { match: { path: '/a' }, upstream: 'a', cache: { lockTimeout: '1s' } },
      { match: { path: '/b' }, upstream: 'b' },
      { match: { path: '/c' }, upstream: 'b', cache: {} },
      { match: { path: '/d' }, upstream: 'a', cache: false }
    ]
  })
  t.same(routeCache(config, config.routes[0]), { maxEntrySize: 8 * 1024 * 1024, staleIfError: 120_000, staleWhileRevalidate: 0, lockTimeout: 1000 })
  t.equal(routeCache(config, config.routes[1]), undefined)
  t.equal(routeCache(config, config.routes[2])?.staleIfError, 60_000)
  t.equal(routeCache(config, config.routes[3]), undefined)
  t.throws(() => normalizeConfig({ cache: { maxSize: '1KB', maxEntrySize: '2KB' }, upstreams: { a: { servers: [{ url: 'http://127.0.0.1:1' }] } }, routes: [{ match: { path: '/' }, upstream: 'a' }] }), /maxEntrySize/)
  t.throws(() => normalizeConfig({ cache: { maxSize: '8 MB' }, upstreams: { a: { servers: [{ url: 'http://127.0.0.1:1' }] } }, routes: [{ match: { path: '/' }, upstream: 'a' }] }), /maxSize/)
  t.throws(() => normalizeConfig({ upstreams: { a: { servers: [{ url: 'http://127.0.0.1:1' }], cache: { maxSize: '1MB' } } }, routes: [{ match: { path: '/' }, upstream: 'a' }] }), /maxSize/, 'maxSize is top level only')
})

t.test('store: variants by Vary, LRU eviction by bytes, purge by URL and prefix', async t => {
  // Each entry is charged a fixed share for what V8 spends on it besides its strings (about 2 KiB).
  const store = new CacheStore(14_000)
  entry(store, '/v', { 'cache-control': 'max-age=60', vary: 'accept-language' }, 'en', { 'accept-language': 'en' })
  entry(store, '/v', { 'cache-control': 'max-age=60', vary: 'accept-language' }, 'fr', { 'accept-language': 'fr' })
  t.equal(store.get(primaryKey('u', 'h', '/v'), { 'accept-language': 'fr' })?.body.toString(), 'fr')
  t.equal(store.get(primaryKey('u', 'h', '/v'), { 'accept-language': 'en' })?.body.toString(), 'en')
  t.equal(store.get(primaryKey('u', 'h', '/v'), { 'accept-language': 'de' }), undefined)
  const big = 'b'.repeat(4000)
  entry(store, '/1', { 'cache-control': 'max-age=60' }, big)
  entry(store, '/2', { 'cache-control': 'max-age=60' }, big)
  t.ok(store.bytes <= 14_000)
  t.equal(store.get(primaryKey('u', 'h', '/v'), { 'accept-language': 'en' }), undefined, 'the oldest went first')
  t.equal(entry(store, '/huge', { 'cache-control': 'max-age=60' }, 'x'.repeat(15_000)), undefined, 'larger than the store: not kept')
  t.equal(store.purge(purgeMatch('http://h/1', false)!), 1)
  const left = store.entries
  t.ok(left > 0)
  t.equal(store.purge(purgeMatch('/', true)!), left, 'a path prefix on any host')
  t.equal(store.entries, 0)
  t.same(purgeMatch('http://Example.com:8080/a?b=c', false), { host: 'example.com:8080', target: '/a?b=c', prefix: false })
  t.same(purgeMatch('http://example.com', true), { host: 'example.com', target: '/', prefix: true })
  t.equal(purgeMatch('ftp://x/', false), undefined)
})

t.test('policy: freshness and stale windows on a controlled clock', async t => {
  now = 1_000_000
  const asked = policyRequest('/p', { host: 'h' })
  const p = policy(asked, { status: 200, headers: { 'cache-control': 'max-age=10' } })
  t.ok(p.satisfiesWithoutRevalidation(asked))
  now += 11_000
  t.notOk(p.satisfiesWithoutRevalidation(asked))
  const staleBy1s = (cc: string) => {
    now = 1_000_000
    const stored = policy(asked, { status: 200, headers: { 'cache-control': cc } })
    now += 11_000
    return stored
  }
  t.ok(staleAllowed(p, {}, 'error', 5_000), 'stale by 1 s, window 5 s')
  t.notOk(staleAllowed(p, {}, 'error', 500), 'window 0.5 s')
  t.notOk(staleAllowed(p, { 'cache-control': 'no-cache' }, 'error', 5_000), "the client's no-cache")
  t.notOk(staleAllowed(staleBy1s('max-age=10, s-maxage=10'), {}, 'error', 5_000), 's-maxage implies proxy-revalidate')
  t.ok(staleAllowed(staleBy1s('max-age=10, stale-if-error=5'), {}, 'error', 0), "the response's own")
  t.notOk(staleAllowed(staleBy1s('max-age=10, stale-if-error=5'), {}, 'revalidate', 0), 'not for revalidation')
  t.notOk(worthStoring(policy(asked, { status: 200, headers: { 'cache-control': 'max-age=10', 'set-cookie': 'a=b' } }), { 'cache-control': 'max-age=10', 'set-cookie': 'a=b' }))
  t.ok(worthStoring(policy(asked, { status: 200, headers: { 'cache-control': 'no-cache', etag: '"e"' } }), { 'cache-control': 'no-cache', etag: '"e"' }), 'no-cache with a validator: kept to revalidate')
})

t.test('conditional requests answered from a stored response', async t => {
  t.ok(notModified({ 'if-none-match': '"a", W/"b"' }, { etag: '"b"' }))
  t.notOk(notModified({ 'if-none-match': '"a"' }, { etag: '"b"' }))
  t.ok(notModified({ 'if-none-match': '*' }, { etag: '"b"' }))
  t.notOk(notModified({ 'if-none-match': '"x"', 'if-modified-since': new Date().toUTCString() }, { etag: '"b"', 'last-modified': new Date(0).toUTCString() }), 'If-None-Match wins')
  t.ok(notModified({ 'if-modified-since': new Date().toUTCString() }, { 'last-modified': new Date(0).toUTCString() }))
})

t.test('coalescer: one leader, waiters released when it lands or at their timeout', async t => {
  const c = new Coalescer()
  const done = c.lead('k')
  t.ok(done)
  t.equal(c.lead('k'), undefined)
  const waiting = c.wait('k', 10_000)
  t.equal(c.waiting, 1)
  done!()
  t.equal(await waiting, true)
  t.equal(c.waiting, 0)
  c.lead('j')
  t.equal(await c.wait('j', 10), false, 'timed out')
  t.equal(await c.wait('none', 10), true)
})

t.test('capture: the whole body under the limit, nothing over it, and the stream passes unchanged', async t => {
  const sink = () => new Writable({ write (c, e, cb) { cb() } })
  let kept: Buffer | null | undefined
  await pipeline(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), new Capture(10, b => { kept = b }), sink())
  t.equal(kept?.toString(), 'abcd')
  await pipeline(Readable.from([Buffer.alloc(6), Buffer.alloc(6)]), new Capture(10, b => { kept = b }), sink())
  t.equal(kept, null)
})
