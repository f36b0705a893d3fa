import t from 'tap'
import Fastify from 'fastify'
import { Writable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import gatehouse from '../../app'
import { startBackend, call } from '../helper'
import { seeded } from '../fixtures/balancing'

t.test('chaos: 1 of 3 backends killed and restarted at random for ~10 s; zero failed GETs', async t => {
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100000)
  t.comment(`CHAOS_SEED=${seed}`)
  const random = seeded(seed)
  const servers = await Promise.all(['a', 'b', 'c'].map(n => startBackend(t, n)))

  // Timeline of what the gateway logged, as it happened.
  const events: Array<{ at: number, msg: string, server?: string, to?: string }> = []
  const stream = new Writable({
    write (chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (line === '') continue
        const l = JSON.parse(line)
        if (l.msg === 'health state changed' || l.msg === 'retrying on another server' || l.msg === 'proxied') {
          events.push({ at: Date.now(), msg: l.msg, server: l.server, to: l.to })
        }
      }
      cb()
    }
  })
  const app = Fastify({ logger: { level: 'info', stream } })
  await app.register(gatehouse, {
    upstreams: {
      u: {
        servers: servers.map(s => ({ url: s.url })),
        // A generous timeout: on a loaded 2-core machine a 100 ms probe of a healthy server can miss.
        healthCheck: { type: 'http', path: '/health', interval: 100, timeout: 1000, unhealthyThreshold: 2, healthyThreshold: 2 },
        passive: { maxFails: 3, failTimeout: '1s' },
        timeouts: { connect: 500, response: 2000 }
      }
    },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const victim = servers[Math.floor(random() * 3)]
  const victimId = `127.0.0.1:${victim.port}`
  const downs: Array<{ from: number, to: number }> = []
  const deadline = Date.now() + 10_000
  let stop = false

  const chaos = (async () => {
    while (Date.now() < deadline - 1500) {
      await new Promise(resolve => setTimeout(resolve, 300 + random() * 700))
      const from = Date.now()
      await victim.kill()
      await new Promise(resolve => setTimeout(resolve, 400 + random() * 900))
      downs.push({ from, to: Date.now() })
      await victim.restart()
    }
    stop = true
  })()

  const statuses = new Map<number, number>()
  let sent = 0
  const client = async () => {
    while (!stop && sent < 20_000) {
      sent++
      const res = await call(`${url}/item/${sent}`)
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    }
  }
  await Promise.all([chaos, ...Array.from({ length: 8 }, client)])

  t.ok(downs.length >= 3, `the victim went down ${downs.length} times`)
  t.ok(sent > 300, `${sent} requests sent`)
  t.same([...statuses.keys()], [200], `every response was a 200 (${JSON.stringify(Object.fromEntries(statuses))})`)

  // After the health check saw the victim down, and until it was back, no attempt went to it.
  let detectedWhileDown = 0
  for (const down of downs) {
    const detected = events.find(e => e.msg === 'health state changed' && e.server === victimId && e.to === 'unhealthy' && e.at >= down.from && e.at <= down.to)
    if (detected === undefined) continue
    detectedWhileDown++
    const sentToVictim = events.filter(e => e.server === victimId && e.msg !== 'health state changed' && e.at > detected.at + 50 && e.at < down.to)
    t.equal(sentToVictim.length, 0, `no request went to ${victimId} between detection (+50 ms for attempts already under way) and restart`)
  }
  t.ok(detectedWhileDown >= 1, `health checks detected ${detectedWhileDown} of ${downs.length} outages`)
})
