import t from 'tap'
import { Agent, request } from 'undici'
import { waitFor } from '../../wait'
import { startCached } from './support'

t.test('100 concurrent misses for one key send exactly one backend request', async t => {
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  const gw = await startCached(t, (req, res) => {
    void gate.then(() => {
      res.setHeader('cache-control', 'max-age=60')
      res.end('one answer')
    })
  })
  // Enough connections for every request to be in the gateway at once.
  const agent = new Agent({ connections: 128 })
  t.teardown(() => agent.close())
  const answers = Array.from({ length: 100 }, async () => {
    const res = await request(`${gw.url}/hot`, { dispatcher: agent })
    return { status: res.statusCode, cache: res.headers['x-cache'], body: await res.body.text() }
  })
  await waitFor(() => gw.cache.coalescer.waiting === 99, { what: '99 requests waiting on the first' })
  t.equal(gw.backend.hits.length, 1)
  release()
  const all = await Promise.all(answers)
  t.equal(gw.backend.hits.length, 1, 'exactly one backend request')
  t.ok(all.every(a => a.status === 200 && a.body === 'one answer'))
  t.equal(all.filter(a => a.cache === 'MISS').length, 1)
  t.equal(all.filter(a => a.cache === 'HIT').length, 99)
})

t.test('waiters go on their own after lockTimeout', async t => {
  let first = true
  const gw = await startCached(t, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    if (first) {
      first = false
      return // never answers: the leader hangs
    }
    res.end('second')
  }, { cache: { lockTimeout: 200 }, upstream: { timeouts: { response: 2000 } } })
  const agent = new Agent({ connections: 4 })
  t.teardown(() => agent.destroy())
  const hung = request(`${gw.url}/slow`, { dispatcher: agent }).catch(() => {})
  await waitFor(() => gw.backend.hits.length === 1)
  const res = await request(`${gw.url}/slow`, { dispatcher: agent })
  t.equal(await res.body.text(), 'second')
  t.equal(gw.backend.hits.length, 2)
  void hung
})
