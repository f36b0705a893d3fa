import t from 'tap'
import Fastify from 'fastify'
import { Writable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import gatehouse from '../../app'
import { startBackend, call } from '../helper'

t.test('one log line per proxied request, with upstream, server id, status and time', async t => {
  const b = await startBackend(t, 'b')
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write (chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l))
      cb()
    }
  })
  const app = Fastify({ logger: { level: 'info', stream } })
  await app.register(gatehouse, {
    rateLimit: { max: 1, timeWindow: '1m' },
    upstreams: { api: { servers: [{ url: b.url, id: 'api-1' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }]
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const before = lines.length
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/x`
  const res = await call(url)
  t.equal(res.status, 200)
  const during = lines.slice(before)
  t.equal(during.length, 1, 'exactly one line')
  t.match(during[0], { msg: 'proxied', upstream: 'api', server: 'api-1', status: 200, responseTime: Number, requestId: res.headers['x-request-id'] })

  const refused = await call(url)
  t.equal(refused.status, 429)
  const next = lines.slice(before + 1)
  t.equal(next.length, 1, 'a refused request gets its one line too')
  t.match(next[0], { msg: 'refused', upstream: 'api', server: undefined, status: 429 })
})
