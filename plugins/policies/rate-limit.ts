import fp from 'fastify-plugin'
import type { RateLimitOptions, RateLimitPluginOptions } from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type Redis from 'ioredis'
import { DEFAULT_RATE_LIMIT, type NormalizedConfig, type RouteLimit } from '../../lib/config'
import { RateLimitedError } from '../../lib/errors'
import type { HookFactory } from './pipeline'

export interface RateLimitPluginConfig {
  config: NormalizedConfig
}

/**
 * Per-appid (or per-address) rate limiting on the proxy routes, counted by
 * @fastify/rate-limit in the process or, with `rateLimit.redis`, in Redis so that every
 * instance enforces one combined limit. Must be registered before the routes; where the limit
 * runs among a route's hooks is declared in plugins/policies/pipeline.ts.
 */
async function rateLimit (fastify: FastifyInstance, { config }: RateLimitPluginConfig) {
  const global = config.rateLimit
  if (global === undefined && !config.routes.some(r => r.rateLimit !== undefined && r.rateLimit !== false)) return
  // Loaded only for a config that limits: a gateway without a limit never loads them, nor pays their memory.
  const { default: fastifyRateLimit } = await import('@fastify/rate-limit')
  const { compileRateLimitKey } = await import('../../lib/rate-limit/key')
  const toPluginLimit = (limit: RouteLimit): RateLimitOptions => ({ max: limit.max, timeWindow: limit.timeWindow, keyGenerator: compileRateLimitKey(limit.key) })

  const options: RateLimitPluginOptions = {
    // Its own onRoute hook then hangs a limit only on a route that asks for one in
    // routeOptions.config.rateLimit, which no gateway route does: the pipeline places ours.
    global: false,
    max: global?.max ?? DEFAULT_RATE_LIMIT.max,
    timeWindow: global?.timeWindow ?? DEFAULT_RATE_LIMIT.timeWindow,
    keyGenerator: compileRateLimitKey(global?.key ?? DEFAULT_RATE_LIMIT.key),
    // Thrown from the hook, so the error handler answers it like every other Gatehouse error.
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.after)
  }

  if (global?.redis !== undefined) {
    const { createRedisClient, redisLimitStore, RedisAvailability } = await import('../../lib/rate-limit/redis-store')
    const redis = createRedisClient(global.redis)
    const availability = new RedisAvailability(fastify.log, redisAddress(global.redis), global.failClosed)
    availability.watch(redis)
    fastify.addHook('onClose', async () => {
      availability.close()
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect())
      else redis.disconnect()
    })
    options.store = redisLimitStore(redis, availability, global.failClosed)
    // Fail open: a store error lets the request through. Failing closed, the store turns
    // the error into a 503 that must reach the error handler.
    options.skipOnError = !global.failClosed
    // Start counting from the first request when Redis is there; when it is not, start
    // anyway (the outage is logged) rather than keep the gateway down.
    await firstContact(redis, 2_000)
  }

  await fastify.register(fastifyRateLimit, options)

  // Routes without a limit of their own share the global one (a single budget per key across
  // them: the plugin's own store); routes with their own get a counter of their own (a child
  // store). The plugin merges these options into what it hands the store's child(), which is
  // how the Redis store learns the route's key space (lib/rate-limit/redis-store.ts).
  const limit: HookFactory<'onRequest'> = route => {
    if (route.rateLimit === false) return undefined
    if (route.rateLimit !== undefined) return fastify.rateLimit({ ...toPluginLimit(route.rateLimit), gatehouseRoute: route.index } as RateLimitOptions)
    return global === undefined ? undefined : fastify.rateLimit()
  }
  fastify.gatehousePipeline.provide({ 'rate-limit': limit })
}

/** host:port only: a redis:// URL may carry a password, which must not reach the logs. */
function redisAddress (url: string): string {
  const { hostname, port } = new URL(url)
  return `${hostname}:${port === '' ? '6379' : port}`
}

function firstContact (redis: Redis, timeout: number): Promise<void> {
  return new Promise(resolve => {
    const done = () => {
      clearTimeout(timer)
      redis.off('ready', done)
      redis.off('error', done)
      resolve()
    }
    const timer = setTimeout(done, timeout)
    redis.once('ready', done)
    redis.once('error', done)
  })
}

export default fp(rateLimit, { fastify: '5.x', name: 'gatehouse-rate-limit', dependencies: ['gatehouse-pipeline', 'gatehouse-error-handler'] })
