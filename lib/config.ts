import Ajv, { type ErrorObject } from 'ajv'
import { readFileSync } from 'node:fs'
import { ConfigSchema, type GatehouseConfig, type DurationValue, type UpstreamConfig } from './config-schema'
import { ConfigError } from './errors'
import { parseDuration } from './duration'

export type { GatehouseConfig } from './config-schema'
export type Balance = NonNullable<UpstreamConfig['balance']>

// Defaults as named constants; the README's config table lists these same values.
export const DEFAULT_BALANCE: Balance = 'round-robin'
export const DEFAULT_WEIGHT = 1
export const DEFAULT_CONNECT_TIMEOUT = 5_000
export const DEFAULT_RESPONSE_TIMEOUT = 60_000
/** How long a request may wait for a free pooled connection: HAProxy's `timeout queue`. */
export const DEFAULT_QUEUE_TIMEOUT = 5_000
/** An open WebSocket tunnel with no bytes either way for this long is closed (nginx: proxy_read_timeout). */
export const DEFAULT_TUNNEL_IDLE_TIMEOUT = 3_600_000
export const DEFAULT_CONNECTIONS = 128
export const DEFAULT_RETRIES = 2
export const DEFAULT_RETRY_BUDGET = 0.2
export const DEFAULT_MAX_FAILS = 3
export const DEFAULT_FAIL_TIMEOUT = 10_000
export const DEFAULT_HEALTH = {
  type: 'http' as const,
  path: '/health',
  interval: 1_000,
  timeout: 500,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  expectStatus: [200, 399] as [number, number]
}
export const DEFAULT_STICKY = {
  cookie: 'gh_sticky',
  ttl: 3_600_000,
  secure: false,
  httpOnly: true,
  sameSite: 'lax' as const
}
export const DEFAULT_RATE_LIMIT = {
  key: 'header:appid',
  max: 100,
  timeWindow: 1_000,
  failClosed: false
}
export const DEFAULT_RETRY_BODY_LIMIT = 64 * 1024
export const DEFAULT_DRAIN_TIMEOUT = 30_000
export const DEFAULT_ADMIN_HOST = '127.0.0.1'
// Server-level limits (issue #7), each as nginx or HAProxy sets it unless said otherwise.
const MAX_TIMER_MS = 2 ** 31 - 1
export const DEFAULT_LIMITS = {
  /** nginx send_timeout: a client that accepts no bytes for this long is cut. */
  sendTimeout: 60_000,
  /** nginx client_body_timeout: a request body that stops arriving for this long gets 408. */
  receiveTimeout: 60_000,
  /** nginx client_header_timeout is 60 s; 10 s is HAProxy's usual `timeout http-request`. */
  headersTimeout: 10_000,
  /** Fastify's own default (72 s, above the 60 s idle timeout of common cloud load balancers); nginx's is 75 s. */
  keepAliveTimeout: 72_000,
  /** HAProxy's maxconn is of this order; past it new connections are closed at once. */
  maxConnections: 10_000
}

export interface ServerOptions {
  id: string
  url: string
  /** scheme://host:port with the default port made explicit, as undici keys its pools. */
  origin: string
  weight: number
  backup: boolean
}

export interface HealthCheckOptions {
  type: 'http' | 'tcp'
  path: string
  host?: string
  interval: number
  timeout: number
  healthyThreshold: number
  unhealthyThreshold: number
  expectStatus: [number, number]
}

export interface StickyOptions {
  cookie: string
  ttl: number
  secure: boolean
  httpOnly: boolean
  sameSite: 'lax' | 'strict' | 'none'
}

export interface UpstreamOptions {
  name: string
  balance: Balance
  hashKey?: string
  servers: ServerOptions[]
  timeouts: { connect: number, response: number }
  /** `timeouts.queue`: how long a request may wait for a free pooled connection. */
  queueTimeout: number
  /** `timeouts.tunnelIdle`: an open tunnel with no bytes either way for this long is closed. */
  tunnelIdleTimeout: number
  preserveHost: boolean
  connections: number
  retries: number
  retryBudget: number
  passive: { maxFails: number, failTimeout: number }
  healthCheck?: HealthCheckOptions
  sticky?: StickyOptions
}

export interface RateLimitOptions {
  key: string
  max: number
  timeWindow: number
}

export interface RouteOptions {
  index: number
  path: string
  host?: string
  methods?: string[]
  upstream: string
  stripPrefix?: string
  /** undefined: use the global limit; false: no limit on this route. */
  rateLimit?: RateLimitOptions | false
}

export interface NormalizedConfig {
  upstreams: Map<string, UpstreamOptions>
  routes: RouteOptions[]
  rateLimit?: RateLimitOptions & { redis?: string, failClosed: boolean }
  cookieSecret?: string
  retryBodyLimit: number
  drainTimeout: number
  handleSignals: boolean
  admin?: { port: number, host: string }
  limits: LimitsOptions
}

export interface LimitsOptions {
  sendTimeout: number
  receiveTimeout: number
  headersTimeout: number
  keepAliveTimeout: number
  maxConnections: number
}

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true })
const validateSchema = ajv.compile(ConfigSchema)

/**
 * Validates a config and fills in every default. Throws one ConfigError that lists
 * every problem found, each by its full path (`upstreams.api.servers[1].url: ...`).
 */
export function normalizeConfig (input: unknown, opts: { handleSignals?: boolean, env?: NodeJS.ProcessEnv } = {}): NormalizedConfig {
  const env = opts.env ?? process.env
  if (!validateSchema(input)) {
    throw new ConfigError(formatAjvErrors(validateSchema.errors ?? [], input).join('\n  '))
  }
  const config = input as GatehouseConfig
  const problems: string[] = []
  const upstreams = new Map<string, UpstreamOptions>()

  for (const [name, up] of Object.entries(config.upstreams)) {
    const path = `upstreams.${name}`
    const servers: ServerOptions[] = []
    const seen = new Map<string, number>()
    up.servers.forEach((s, i) => {
      const url = new URL(s.url)
      const origin = `${url.protocol}//${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`
      const id = s.id ?? `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`
      const prev = seen.get(id)
      if (prev !== undefined) {
        problems.push(`${path}.servers[${i}]: server id "${id}" is already used by ${path}.servers[${prev}]; give one an "id"`)
      }
      seen.set(id, i)
      servers.push({ id, url: s.url, origin, weight: s.weight ?? DEFAULT_WEIGHT, backup: s.backup ?? false })
    })
    if (servers.every(s => s.backup)) {
      problems.push(`${path}.servers: needs at least one server that is not a backup`)
    }
    const balance = up.balance ?? DEFAULT_BALANCE
    if (balance === 'hash' && up.hashKey === undefined) {
      problems.push(`${path}.hashKey: required when balance is "hash"`)
    }
    if (balance !== 'hash' && up.hashKey !== undefined) {
      problems.push(`${path}.hashKey: only used when balance is "hash" (balance is "${balance}")`)
    }
    const hc = up.healthCheck
    const healthCheck = hc === undefined
      ? undefined
      : {
          type: hc.type ?? DEFAULT_HEALTH.type,
          path: hc.path ?? DEFAULT_HEALTH.path,
          host: hc.host,
          interval: ms(hc.interval, DEFAULT_HEALTH.interval),
          timeout: ms(hc.timeout, DEFAULT_HEALTH.timeout),
          healthyThreshold: hc.healthyThreshold ?? DEFAULT_HEALTH.healthyThreshold,
          unhealthyThreshold: hc.unhealthyThreshold ?? DEFAULT_HEALTH.unhealthyThreshold,
          expectStatus: hc.expectStatus ?? DEFAULT_HEALTH.expectStatus
        }
    if (healthCheck !== undefined) {
      if (healthCheck.interval < 10) problems.push(`${path}.healthCheck.interval: must be at least 10 ms`)
      if (healthCheck.expectStatus[0] > healthCheck.expectStatus[1]) {
        problems.push(`${path}.healthCheck.expectStatus: the first status must not be above the second`)
      }
    }
    upstreams.set(name, {
      name,
      balance,
      hashKey: up.hashKey,
      servers,
      timeouts: {
        connect: ms(up.timeouts?.connect, DEFAULT_CONNECT_TIMEOUT),
        response: ms(up.timeouts?.response, DEFAULT_RESPONSE_TIMEOUT)
      },
      queueTimeout: timerMs(problems, `${path}.timeouts.queue`, ms(up.timeouts?.queue, DEFAULT_QUEUE_TIMEOUT)),
      tunnelIdleTimeout: timerMs(problems, `${path}.timeouts.tunnelIdle`, ms(up.timeouts?.tunnelIdle, DEFAULT_TUNNEL_IDLE_TIMEOUT)),
      preserveHost: up.preserveHost ?? true,
      connections: up.connections ?? DEFAULT_CONNECTIONS,
      retries: up.retries ?? DEFAULT_RETRIES,
      retryBudget: up.retryBudget ?? DEFAULT_RETRY_BUDGET,
      passive: {
        maxFails: up.passive?.maxFails ?? DEFAULT_MAX_FAILS,
        failTimeout: ms(up.passive?.failTimeout, DEFAULT_FAIL_TIMEOUT)
      },
      healthCheck,
      sticky: up.sticky === undefined
        ? undefined
        : {
            cookie: up.sticky.cookie ?? DEFAULT_STICKY.cookie,
            ttl: ms(up.sticky.ttl, DEFAULT_STICKY.ttl),
            secure: up.sticky.secure ?? DEFAULT_STICKY.secure,
            httpOnly: up.sticky.httpOnly ?? DEFAULT_STICKY.httpOnly,
            sameSite: up.sticky.sameSite ?? DEFAULT_STICKY.sameSite
          }
    })
  }

  const globalLimit = config.rateLimit
  const routes: RouteOptions[] = config.routes.map((r, index) => {
    if (!upstreams.has(r.upstream)) {
      const known = [...upstreams.keys()].map(n => `"${n}"`).join(', ')
      problems.push(`routes[${index}].upstream: unknown upstream "${r.upstream}" (known: ${known})`)
    }
    if (r.stripPrefix !== undefined && !r.match.path.startsWith(r.stripPrefix)) {
      problems.push(`routes[${index}].stripPrefix: "${r.stripPrefix}" is not a prefix of match.path "${r.match.path}"`)
    }
    let rateLimit: RouteOptions['rateLimit']
    if (r.rateLimit === false) rateLimit = false
    else if (r.rateLimit !== undefined) {
      rateLimit = {
        key: r.rateLimit.key ?? globalLimit?.key ?? DEFAULT_RATE_LIMIT.key,
        max: r.rateLimit.max ?? globalLimit?.max ?? DEFAULT_RATE_LIMIT.max,
        timeWindow: ms(r.rateLimit.timeWindow ?? globalLimit?.timeWindow, DEFAULT_RATE_LIMIT.timeWindow)
      }
    }
    return {
      index,
      path: r.match.path,
      host: r.match.host?.toLowerCase(),
      methods: r.match.methods,
      upstream: r.upstream,
      stripPrefix: r.stripPrefix === undefined ? undefined : r.stripPrefix.replace(/\/+$/, ''),
      rateLimit
    }
  })

  // Fastify refuses two routes with one path, host and method; say which config entries clash.
  const declared = new Map<string, number>()
  for (const r of routes) {
    for (const method of r.methods ?? ['*']) {
      for (const m of method === '*' ? ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] : [method]) {
        const key = `${m} ${r.host ?? ''} ${r.path}`
        const prev = declared.get(key)
        if (prev !== undefined && prev !== r.index) {
          problems.push(`routes[${r.index}].match: same path, host and method ${m} as routes[${prev}]`)
          break
        }
        declared.set(key, r.index)
      }
    }
  }

  const cookieSecret = config.cookieSecret ?? env.GATEHOUSE_COOKIE_SECRET
  const sticky = [...upstreams.values()].filter(u => u.sticky !== undefined)
  if (sticky.length > 0 && cookieSecret === undefined) {
    problems.push(`cookieSecret: required because upstreams.${sticky[0].name}.sticky is set (or set GATEHOUSE_COOKIE_SECRET)`)
  } else if (cookieSecret !== undefined && cookieSecret.length < 32) {
    problems.push('cookieSecret: must be at least 32 characters (from GATEHOUSE_COOKIE_SECRET)')
  }

  const limits = normalizeLimits(config.limits, problems)

  if (problems.length > 0) throw new ConfigError(problems.join('\n  '))

  return {
    upstreams,
    routes,
    rateLimit: globalLimit === undefined
      ? undefined
      : {
          key: globalLimit.key ?? DEFAULT_RATE_LIMIT.key,
          max: globalLimit.max ?? DEFAULT_RATE_LIMIT.max,
          timeWindow: ms(globalLimit.timeWindow, DEFAULT_RATE_LIMIT.timeWindow),
          redis: globalLimit.redis,
          failClosed: globalLimit.failClosed ?? DEFAULT_RATE_LIMIT.failClosed
        },
    cookieSecret,
    retryBodyLimit: config.retryBodyLimit ?? DEFAULT_RETRY_BODY_LIMIT,
    drainTimeout: ms(config.drainTimeout, DEFAULT_DRAIN_TIMEOUT),
    admin: config.admin === undefined ? undefined : { port: config.admin.port, host: config.admin.host ?? DEFAULT_ADMIN_HOST },
    handleSignals: config.handleSignals ?? opts.handleSignals ?? false,
    limits
  }
}

function normalizeLimits (limits: GatehouseConfig['limits'], problems: string[]): LimitsOptions {
  // A zero would turn the timeout off in Node (keepAliveTimeout 0 keeps idle connections for
  // ever): each must be at least 1 ms, so that a limit is always a limit.
  return {
    sendTimeout: timerMs(problems, 'limits.sendTimeout', ms(limits?.sendTimeout, DEFAULT_LIMITS.sendTimeout)),
    receiveTimeout: timerMs(problems, 'limits.receiveTimeout', ms(limits?.receiveTimeout, DEFAULT_LIMITS.receiveTimeout)),
    headersTimeout: timerMs(problems, 'limits.headersTimeout', ms(limits?.headersTimeout, DEFAULT_LIMITS.headersTimeout)),
    keepAliveTimeout: timerMs(problems, 'limits.keepAliveTimeout', ms(limits?.keepAliveTimeout, DEFAULT_LIMITS.keepAliveTimeout)),
    maxConnections: limits?.maxConnections ?? DEFAULT_LIMITS.maxConnections
  }
}

/** A duration that becomes a Node timer: 1 ms at least, and at most what a timer holds (a longer one would fire at once). */
function timerMs (problems: string[], path: string, value: number): number {
  if (value < 1 || value > MAX_TIMER_MS) problems.push(`${path}: must be between 1 ms and ${MAX_TIMER_MS} ms (about 24 days)`)
  return value
}

/** Reads and validates a JSON config file; every failure is a ConfigError naming the file. */
export function loadConfigFile (file: string, opts?: Parameters<typeof normalizeConfig>[1]): NormalizedConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`)
  }
  return normalizeConfig(json, opts)
}

function ms (value: DurationValue | undefined, fallback: number): number {
  return value === undefined ? fallback : parseDuration(value)
}

/** Turns ajv's JSON pointers into the dotted paths users read in their config. */
function formatAjvErrors (errors: ErrorObject[], data: unknown): string[] {
  // A union (anyOf) reports each branch's failure as well; its own message says it better.
  const unionPaths = new Set(errors.filter(e => e.keyword === 'anyOf').map(e => e.instancePath))
  const out = new Set<string>()
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && unionPaths.has(e.instancePath)) continue
    let path = toDotted(e.instancePath, data)
    let message: string
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as { additionalProperty: string }).additionalProperty
        path = path === '' ? key : `${path}.${key}`
        message = 'unknown key (check its spelling)'
        break
      }
      case 'required': {
        const key = (e.params as { missingProperty: string }).missingProperty
        path = path === '' ? key : `${path}.${key}`
        message = 'required'
        break
      }
      case 'enum':
        message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map(v => JSON.stringify(v)).join(', ')}`
        break
      case 'pattern':
      case 'anyOf': {
        const description = (e.parentSchema as { description?: string } | undefined)?.description
        message = description !== undefined ? `must be ${description}` : (e.message ?? 'is invalid')
        if (e.keyword === 'pattern' || e.data !== undefined) message += ` (got ${JSON.stringify(e.data)})`
        break
      }
      default:
        message = e.message ?? 'is invalid'
    }
    out.add(`${path === '' ? '(config)' : path}: ${message}`)
  }
  return [...out]
}

function toDotted (pointer: string, data: unknown): string {
  if (pointer === '') return ''
  let node: unknown = data
  let path = ''
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(node)) {
      path += `[${key}]`
    } else {
      path += path === '' ? key : `.${key}`
    }
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined
  }
  return path
}
