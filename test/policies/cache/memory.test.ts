import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { request, Agent } from 'undici'
import { startCached } from './support'

// A collection after the fact, so that what is measured is what the cache still holds, not
// garbage not yet collected: V8 exposes gc() to a new context once the flag is set.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const MAX_SIZE = 1024 * 1024
const held = (): number => {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/** Sends `n` GETs, 16 at a time, each with the path and headers `make(i)` gives. */
async function send (url: string, n: number, make: (i: number) => { path: string, headers?: Record<string, string> }): Promise<void> {
  const agent = new Agent({ connections: 16 })
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < n) {
      const { path, headers } = make(next++)
      const res = await request(url + path, { headers, dispatcher: agent })
      await res.body.dump()
    }
  }))
  await agent.close()
}

// Everything an entry keeps is charged to cache.maxSize: its key, its target, the request
// headers a Vary response keeps to match later requests, not only its body and fields.
// Unbounded, each case below would keep about 16 MB of keys and headers (1 000 × 8 KiB, twice over) in
// a cache of 1 MiB; charged, the store evicts and what it holds stays near its bound.
t.test('long keys: what the store holds stays within a small multiple of maxSize', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=600')
    res.end('ok')
  }, { cache: { maxSize: '1MiB', maxEntrySize: '64KiB' } })
  const long = '/' + 'a'.repeat(8 * 1024)
  await send(gw.url, 50, i => ({ path: `${long}?warm=${i}` }))
  const before = held()
  await send(gw.url, 1_000, i => ({ path: `${long}?i=${i}` }))
  // The test backend keeps every request it saw (headers and URL): not the cache's memory.
  gw.backend.hits.length = 0
  const grown = held() - before
  t.ok(gw.cache.store.bytes <= MAX_SIZE, `the store's count (${gw.cache.store.bytes}) is within maxSize`)
  t.ok(gw.cache.store.entries < 1_000, `entries were evicted (${gw.cache.store.entries} kept of 1050)`)
  t.ok(grown < 4 * MAX_SIZE, `heap and Buffers grew by ${(grown / MAX_SIZE).toFixed(1)} MiB, within 4 × maxSize`)
})

t.test('many Vary variants with long header values: the same bound', async t => {
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=600')
    res.setHeader('vary', 'x-variant')
    res.end('ok')
  }, { cache: { maxSize: '1MiB', maxEntrySize: '64KiB' } })
  const value = 'v'.repeat(6 * 1024)
  await send(gw.url, 50, i => ({ path: '/page', headers: { 'x-variant': `warm${i}${value}` } }))
  const before = held()
  await send(gw.url, 1_000, i => ({ path: '/page', headers: { 'x-variant': `${i}${value}`, 'x-other': 'o'.repeat(2 * 1024) } }))
  // The test backend keeps every request it saw (headers and URL): not the cache's memory.
  gw.backend.hits.length = 0
  const grown = held() - before
  t.ok(gw.cache.store.bytes <= MAX_SIZE, `the store's count (${gw.cache.store.bytes}) is within maxSize`)
  t.ok(gw.cache.store.entries < 1_000, `entries were evicted (${gw.cache.store.entries} kept)`)
  t.ok(grown < 4 * MAX_SIZE, `heap and Buffers grew by ${(grown / MAX_SIZE).toFixed(1)} MiB, within 4 × maxSize`)
})
