import Redis from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import { RateLimitUnavailableError } from '../errors'

// @fastify/rate-limit's own Redis store does the counting (one Lua script per request);
// it ships without types, so only the part used here is described.
type RedisStoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, nameSpace: string) => FastifyRateLimitStore
const RedisStore: RedisStoreCtor = require('@fastify/rate-limit/store/RedisStore')

/** Every Gatehouse counter in Redis starts with this, so a shared Redis can hold other data. */
export const REDIS_NAMESPACE = 'gatehouse:rl:'

/**
 * A client tuned for a check that sits in front of every request: while Redis is away each
 * command fails at once (no offline queue, one retry, short timeouts) so that the fail-open
 * or fail-closed policy answers instead of requests piling up behind a reconnect.
 */
export function createRedisClient (url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    commandTimeout: 500,
    // Never give up; retry at most a second apart so that limiting resumes soon after Redis does.
    retryStrategy: attempt => Math.min(attempt * 50, 1_000)
  })
}

/**
 * Whether Redis is answering, as far as the last connection event or command showed. Only
 * the changes are logged: an outage is one line, not one per request or per reconnect.
 */
export class RedisAvailability {
  private available = true
  private closing = false

  constructor (private readonly log: FastifyBaseLogger, private readonly where: string, private readonly failClosed: boolean) {}

  failed (err: Error): void {
    if (!this.available || this.closing) return
    this.available = false
    const policy = this.failClosed ? 'requests are refused with 503' : 'requests are let through unlimited'
    // The cause is enough: a stack would only show ioredis's internals.
    this.log.error({ redis: this.where, reason: err.message }, `rate limit: Redis is unavailable, ${policy} until it returns`)
  }

  recovered (): void {
    if (this.available || this.closing) return
    this.available = true
    this.log.info({ redis: this.where }, 'rate limit: Redis is available again, limiting resumes')
  }

  close (): void {
    this.closing = true
  }

  /** Follows the client's connection, which notices an outage even while no request comes. */
  watch (redis: Redis): void {
    redis.on('error', err => this.failed(err))
    redis.on('ready', () => this.recovered())
  }
}

interface StoreParams {
  continueExceeding?: boolean
  exponentialBackoff?: boolean
  /** The config route's index, for a route with a limit of its own (plugins/policies/rate-limit.ts passes it). */
  gatehouseRoute?: number
}

/**
 * The store class @fastify/rate-limit instantiates: its Redis store, with each failure
 * reported to `availability` and, when failing closed, turned into a 503 the error handler
 * answers as JSON. When failing open the plugin's skipOnError lets the request through.
 * The global limit and each route with its own limit count in separate key spaces
 * (`gatehouse:rl:global:…`, `gatehouse:rl:route:2:…`), the same on every instance that
 * shares the config.
 */
export function redisLimitStore (redis: Redis, availability: RedisAvailability, failClosed: boolean): FastifyRateLimitStoreCtor {
  return class GuardedRedisStore implements FastifyRateLimitStore {
    private readonly inner: FastifyRateLimitStore

    constructor (params: StoreParams) {
      const index = params.gatehouseRoute
      const space = index === undefined ? 'global:' : `route:${index}:`
      this.inner = new RedisStore(params.continueExceeding ?? false, params.exponentialBackoff ?? false, redis, REDIS_NAMESPACE + space)
    }

    incr (key: string, callback: (error: Error | null, result?: { current: number, ttl: number }) => void, timeWindow: number, max: number): void {
      this.inner.incr(key, (err, result) => {
        if (err !== null && err !== undefined) {
          availability.failed(err)
          callback(failClosed ? new RateLimitUnavailableError() : err)
          return
        }
        availability.recovered()
        callback(null, result)
      }, timeWindow, max)
    }

    // Typed as a route by @fastify/rate-limit, but what it passes is the route's merged
    // limit settings: the plugin's, then those of fastify.rateLimit(options).
    child (params: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      return new GuardedRedisStore(params as unknown as StoreParams)
    }
  }
}
