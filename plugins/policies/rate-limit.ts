import fp from 'fastify-plugin'
import type { RateLimitOptions, RateLimitPluginOptions } from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import type Redis from 'ioredis'
import { DEFAULT_RATE_LIMIT, type NormalizedConfig, type RouteLimit } from '../../lib/config'
import { RateLimitedError } from '../../lib/errors'

export interface RateLimitPluginConfig {
  config: NormalizedConfig
}

/**
 * Per-appid (or per-address) rate limiting on the proxy routes, counted by
 * @fastify/rate-limit in the process or, with `rateLimit.redis`, in Redis so that every
 * instance enforces one combined limit. Must be registered before the routes.
 */
async function rateLimit (fastify: FastifyInstance, { config }: RateLimitPluginConfig) {
  const global = config.rateLimit
  if (global === undefined && !config.routes.some(r => r.rateLimit !== undefined && r.rateLimit !== false)) return
  // Loaded only for a config that limits: a gateway without a limit never loads them (issue 9).
  const { default: fastifyRateLimit } = await import('@fastify/rate-limit')
  const { compileRateLimitKey } = await import('../../lib/rate-limit/key')
  const toPluginLimit = (limit: RouteLimit): RateLimitOptions => ({ max: limit.max, timeWindow: limit.timeWindow, keyGenerator: compileRateLimitKey(limit.key) })

  // @fastify/rate-limit decides per route in its own onRoute hook, from
  // routeOptions.config.rateLimit. Hooks run in the order they were added, so this one,
  // added before the plugin is registered, translates each proxy route's setting first.
  fastify.addHook('onRoute', routeOptions => {
    const own = routeOptions.config?.rateLimit
    const route = routeOptions.config?.gatehouse
    let limit: RateLimitOptions | false | undefined
    if (route === undefined) {
      // Only configured routes are limited; something else declared in this context (a
      // health or admin endpoint, say) is left alone unless it asks for a limit itself.
      limit = own ?? false
    } else if (route.rateLimit !== undefined) {
      limit = route.rateLimit === false ? false : toPluginLimit(route.rateLimit)
    }
    if (limit !== undefined) routeOptions.config = { ...routeOptions.config, rateLimit: limit }
  })

  const options: RateLimitPluginOptions = {
    // Routes without a limit of their own share the global one (a single budget per key
    // across them); routes with their own get a counter of their own.
    global: global !== undefined,
    max: global?.max ?? DEFAULT_RATE_LIMIT.max,
    timeWindow: global?.timeWindow ?? DEFAULT_RATE_LIMIT.timeWindow,
    keyGenerator: compileRateLimitKey(global?.key ?? DEFAULT_RATE_LIMIT.key),
    hook: 'onRequest',
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

export default fp(rateLimit, { fastify: '5.x', name: 'gatehouse-rate-limit', dependencies: ['gatehouse-error-handler'] })
