import Redis from 'ioredis'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { applyFleetChange, FLEET_CHANNEL, FLEET_LOG_KEY, fromFleet, type FleetMessage } from '../../lib/admin/fleet-sync'
import type { RuntimeChange } from '../../lib/upstreams/runtime-servers'
import { redactUrl } from '../../lib/config/export'

export interface FleetSyncOptions {
  url: string
}

/**
 * `admin.sync`: runtime changes made on one instance are applied by every instance sharing
 * the Redis, so that instances behind one balancer agree on which servers take traffic. A
 * change is appended to a list (what a later starter replays) and published (what running
 * instances apply at once). While Redis is away every instance keeps its state; the outage is
 * logged once, and its return once.
 */
export default async function fleetSync (fastify: FastifyInstance, opts: FleetSyncOptions) {
  const instance = randomUUID()
  const runtime = fastify.gatehouse.runtime
  // Commands fail at once while Redis is away (no offline queue): a change made meanwhile
  // stays local rather than being replayed out of order later.
  const options = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 1_000, retryStrategy: (n: number) => Math.min(n * 50, 1_000) }
  const pub = new Redis(opts.url, options)
  const sub = new Redis(opts.url, { ...options, enableOfflineQueue: true })
  const where = redactUrl(opts.url)
  let down = false
  const failed = (err: Error) => {
    if (down) return
    down = true
    fastify.log.warn({ sync: where, error: err.message }, 'fleet sync: Redis is unavailable; keeping the current state')
  }
  const back = () => {
    if (!down) return
    down = false
    fastify.log.info({ sync: where }, 'fleet sync: Redis is back')
  }
  pub.on('error', failed)
  sub.on('error', failed)
  pub.on('ready', back)

  sub.on('message', (channel: string, text: string) => {
    let msg: FleetMessage
    try { msg = JSON.parse(text) } catch { return }
    if (msg.instance === instance) return
    applyFleetChange(runtime, msg)
  })

  const onChange = (change: RuntimeChange) => {
    if (fromFleet(change)) return
    const text = JSON.stringify({ instance, change })
    pub.multi().rpush(FLEET_LOG_KEY, text).publish(FLEET_CHANNEL, text).exec().catch(failed)
  }

  fastify.addHook('onReady', async () => {
    // Subscribe first, then replay: a change published in between is applied twice at worst,
    // and a second add is a 409, skipped. Not awaited: with Redis down it would wait for it;
    // ioredis subscribes again by itself on every reconnect.
    sub.subscribe(FLEET_CHANNEL).catch(failed)
    const list = await waitReady(pub).then(() => pub.lrange(FLEET_LOG_KEY, 0, -1)).catch((err: Error) => { failed(err); return [] })
    let applied = 0
    for (const text of list) {
      try { if (applyFleetChange(runtime, JSON.parse(text))) applied++ } catch {}
    }
    if (list.length > 0) fastify.log.info({ sync: where, applied, of: list.length }, 'fleet sync: changes in force applied')
    runtime.on('change', onChange)
  })

  fastify.addHook('onClose', async () => {
    runtime.off('change', onChange)
    for (const r of [pub, sub]) {
      if (r.status === 'ready') await r.quit().catch(() => r.disconnect())
      else r.disconnect()
    }
  })
}

async function waitReady (redis: Redis): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer within 1 s')), 1_000)
    redis.once('ready', () => { clearTimeout(timer); resolve() })
  })
}
