import t from 'tap'
import { startBackend, startLoggedGateway, call } from '../helper'
import { waitFor } from '../wait'
import { seeded } from '../fixtures/balancing'

const DEFAULT_SEED = 20240607
const LONG_OUTAGE = 1000
const CONNECT_TIMEOUT = 500

t.test('chaos: 1 of 3 backends killed and restarted at random for ~10 s; zero failed GETs', async t => {
  // A fixed schedule by default, so that a failure can be replayed; CHAOS_SEED=<n> tries another.
  const seed = Number(process.env.CHAOS_SEED ?? DEFAULT_SEED)
  t.comment(`CHAOS_SEED=${seed}`)
  const random = seeded(seed)
  const servers = await Promise.all(['a', 'b', 'c'].map(n => startBackend(t, n)))

  const gw = await startLoggedGateway(t, {
    upstreams: {
      u: {
        servers: servers.map(s => ({ url: s.url })),
        // A generous timeout: on a loaded 2-core machine a 100 ms probe of a healthy server can miss.
        healthCheck: { type: 'http', path: '/health', interval: 100, timeout: 1000, unhealthyThreshold: 2, healthyThreshold: 2 },
        passive: { maxFails: 3, failTimeout: '1s' },
        timeouts: { connect: CONNECT_TIMEOUT, response: 2000 }
      }
    },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const url = gw.url
  // Timeline of what the gateway logged, as it happened (pino's `time` is when it was logged).
  const EVENTS = new Set(['health state changed', 'retrying on another server', 'proxied'])
  const events = () => gw.logs.filter(l => EVENTS.has(l.msg)).map(l => ({ at: l.time, msg: l.msg, server: l.server as string | undefined, to: l.to as string | undefined }))

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
  const timeline = events()
  let detectedWhileDown = 0
  const missedLong: Array<{ from: number, to: number }> = []
  for (const down of downs) {
    const detected = timeline.find(e => e.msg === 'health state changed' && e.server === victimId && e.to === 'unhealthy' && e.at >= down.from && e.at <= down.to)
    if (detected === undefined) {
      if (down.to - down.from >= LONG_OUTAGE) missedLong.push(down)
      continue
    }
    detectedWhileDown++
    // An attempt chosen before detection is logged when it ends, at most one connect timeout
    // later (the victim refuses, or its connect times out); anything logged after that was chosen after.
    const sentToVictim = timeline.filter(e => e.server === victimId && e.msg !== 'health state changed' && e.at > detected.at + CONNECT_TIMEOUT && e.at < down.to)
    t.equal(sentToVictim.length, 0, `no request went to ${victimId} between detection (+ the connect timeout, for attempts already under way) and restart`)
  }
  // Two failed checks 100 ms apart mark it down: an outage of a second leaves ample room even
  // on a busy machine, and most shorter ones are caught too.
  t.same(missedLong, [], `every outage of ${LONG_OUTAGE} ms or more was detected`)
  t.ok(detectedWhileDown >= Math.ceil(downs.length / 2), `health checks detected ${detectedWhileDown} of ${downs.length} outages`)

  // And the victim, restarted for good, is found healthy again and takes traffic.
  const victimServer = gw.app.gatehouse.registry.get('u')?.backends.all().find(s => s.id === victimId)
  // Healthy, and past any passive ejection (its one trial request included) that the last outage caused.
  const traffic = () => victim.hits.filter(h => h.url !== '/health').length
  const hits = traffic()
  let after = 0
  await waitFor(async () => {
    t.equal((await call(`${url}/after/${after++}`)).status, 200)
    return victimServer?.isReady(Date.now()) === true && traffic() > hits
  }, { timeout: 10_000, every: 20, what: 'the victim to serve again' })
  t.ok(traffic() > hits, 'the victim serves again')
})
