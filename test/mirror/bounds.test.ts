import t from 'tap'
import { Readable } from 'node:stream'
import { startBackend, startGateway, call, answerBodySize } from '../helper'
import { waitFor } from '../wait'
import { startShadow, mirrorConfig as config, mirrorMetrics } from './support'

// What bounds the copies: maxInFlight, and bodies (maxBodySize, and only bodies held whole).

t.test('maxInFlight bounds the copies in flight; the rest are dropped', async t => {
  const main = await startBackend(t, 'main')
  const shadow = await startShadow(t)
  shadow.hold()
  const gw = await startGateway(t, config(main.url, shadow.url, { maxInFlight: 3 }))
  for (let i = 0; i < 10; i++) t.equal((await call(`${gw.url}/api/${i}`)).status, 200)
  await waitFor(() => shadow.held.length === 3, { what: 'three held' })
  t.same(await mirrorMetrics(gw, 'shadow'), { sent: 3, answered: 0, failed: 0, dropped: 7, skipped: 0 })
  t.equal(shadow.peak, 3, 'never more than three at once')
  shadow.release()
  await waitFor(async () => (await mirrorMetrics(gw, 'shadow')).answered === 3, { what: 'slots freed' })
  t.equal((await call(`${gw.url}/api/again`)).status, 200)
  t.equal((await mirrorMetrics(gw, 'shadow')).sent, 4, 'copies go again once slots are free')
  t.ok(shadow.peak <= 3)
})

t.test('bodies over maxBodySize, or streamed, are not copied; the backend gets them whole', async t => {
  const main = await startBackend(t, 'main')
  main.handle(answerBodySize)
  const shadow = await startShadow(t)
  // Held as a Buffer up to 1 KiB, as a stream of the whole body up to 64 KiB, streamed beyond.
  const gw = await startGateway(t, config(main.url, shadow.url, { maxBodySize: '16KB' }, { retryBodyLimit: 1024 }))
  const over = Buffer.alloc(20_000, 'o')
  let res = await call(`${gw.url}/api/over`, { method: 'POST', body: over })
  t.equal(res.body, '20000', 'over maxBodySize: the backend gets it all')
  t.equal((await mirrorMetrics(gw, 'shadow')).skipped, 1)

  const big = Buffer.alloc(300_000, 'b')
  res = await call(`${gw.url}/api/streamed`, { method: 'PUT', body: Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]) })
  t.equal(res.body, '300000', 'streamed: the backend gets it all')
  t.equal((await mirrorMetrics(gw, 'shadow')).skipped, 2)

  const small = Buffer.alloc(500, 's')
  res = await call(`${gw.url}/api/small`, { method: 'POST', body: small })
  t.equal(res.body, '500')
  const mid = Buffer.alloc(10_000, 'm')
  res = await call(`${gw.url}/api/mid`, { method: 'POST', body: mid })
  t.equal(res.body, '10000', 'held whole as a stream: the backend reads the stream')
  await waitFor(() => shadow.copies.length === 2, { what: 'two copies' })
  const byUrl = Object.fromEntries(shadow.copies.map(c => [c.url, c]))
  t.same(Object.keys(byUrl).sort(), ['/mid', '/small'], 'only the bodies within bounds and held')
  t.same(byUrl['/small'].body, small)
  t.same(byUrl['/mid'].body, mid, 'a body held whole but handed on as a stream is copied from the held bytes')
  t.same(await mirrorMetrics(gw, 'shadow'), { sent: 2, answered: 2, failed: 0, dropped: 0, skipped: 2 })
})
