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
  await app.register(gatehouse, { upstreams: { api: { servers: [{ url: b.url, id: 'api-1' }] } }, routes: [{ match: { path: '/*' }, upstream: 'api' }] })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const before = lines.length
  const res = await call(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/x`)
  t.equal(res.status, 200)
  const during = lines.slice(before)
  t.equal(during.length, 1, 'exactly one line')
  t.match(during[0], { msg: 'proxied', upstream: 'api', server: 'api-1', status: 200, responseTime: Number, requestId: res.headers['x-request-id'] })
})
