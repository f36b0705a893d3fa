import Ajv from 'ajv'
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { ConfigSchema, type GatehouseConfig } from './schema'
import type { LimitsOptions, NormalizedConfig, UpstreamOptions } from './types'
import { DEFAULT_DRAIN_TIMEOUT, DEFAULT_WATCH, DEFAULT_WORKERS, DEFAULT_LIMITS, DEFAULT_RATE_LIMIT, DEFAULT_RETRY_BODY_LIMIT } from './defaults'
import { formatAjvErrors, jsonErrorAt } from './format'
import { normalizeRoutes, unknownUpstream } from './normalize/routes'
import { normalizeDefaults } from './normalize/filters'
import { cookieSecretOf } from './normalize/secrets'
import { parseSize } from './size'
import { normalizeAdmin } from './normalize/admin'
import { normalizeUpstream } from './normalize/upstream'
import { normalizeCache } from './normalize/cache'
import { normalizeCompress } from './normalize/compress'
import { normalizeListen, normalizeUpstreamTls, upstreamTlsFiles } from './normalize/tls'
import { normalizeDns } from './normalize/dns'
import { normalizeAccessLog } from './normalize/access-log'
import { normalizeTracing } from './normalize/tracing'
import { ms, timerMs } from './values'
import { ConfigError } from '../errors'

export type { GatehouseConfig } from './schema'
export type * from './types'
export * from './defaults'

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true })
const validateSchema = ajv.compile(ConfigSchema)

/**
 * Validates a config and fills in every default. Throws one ConfigError that lists every
 * problem found, each by its full path (`upstreams.api.servers[1].url: ...`): the schema's
 * and the cross-checks' (a route naming an unknown upstream) in the same run.
 */
export function normalizeConfig (input: unknown, opts: { handleSignals?: boolean, env?: NodeJS.ProcessEnv, baseDir?: string } = {}): NormalizedConfig {
  if (!validateSchema(input)) {
    const problems = formatAjvErrors(validateSchema.errors ?? [], input)
    problems.push(...looseReferences(input))
    throw new ConfigError(problems.join('\n  '))
  }
  const config = input as GatehouseConfig
  const problems: string[] = []
  const upstreams = new Map<string, UpstreamOptions>()
  // Certificate paths are relative to the config file, so the same file works whatever directory
  // the gateway starts in; to the working directory without one.
  const baseDir = opts.baseDir ?? process.cwd()
  for (const [name, up] of Object.entries(config.upstreams)) {
    upstreams.set(name, {
      ...normalizeUpstream(name, up, problems),
      tls: normalizeUpstreamTls(`upstreams.${name}`, up.tls, baseDir, problems),
      tlsFiles: upstreamTlsFiles(up.tls, baseDir)
    })
  }
  const listen = normalizeListen(config.listen, baseDir, problems)
  const routes = normalizeRoutes(config.routes, new Set(upstreams.keys()), config.rateLimit, problems, normalizeDefaults(config, problems))
  const cookieSecret = cookieSecretOf(config.cookieSecret, opts.env ?? process.env, upstreams.values(), problems)
  const limits = normalizeLimits(config.limits, problems)
  const cache = normalizeCache(config.cache, problems)
  const compress = normalizeCompress(config.compress, problems)
  const admin = normalizeAdmin(config.admin, opts.env ?? process.env, problems)
  const dns = normalizeDns(config.dns, problems)
  const accessLog = normalizeAccessLog(config.accessLog, baseDir, problems)
  const tracing = normalizeTracing(config.tracing, problems)
  if (problems.length > 0) throw new ConfigError(problems.join('\n  '))

  const globalLimit = config.rateLimit
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
    admin,
    watch: config.watch ?? DEFAULT_WATCH,
    handleSignals: config.handleSignals ?? opts.handleSignals ?? false,
    limits,
    cache,
    compress,
    listen,
    workers: config.workers ?? DEFAULT_WORKERS,
    dns,
    baseDir,
    tracing,
    written: writtenFilters(config),
    accessLog
  }
}

/** Copies, so that a caller changing its config object later does not change what GET /config says. */
function writtenFilters (config: GatehouseConfig): NormalizedConfig['written'] {
  const pick = (level: Pick<GatehouseConfig, 'filters' | 'requestHeaders' | 'responseHeaders'>): typeof level => structuredClone({
    ...(level.filters !== undefined && { filters: level.filters }),
    ...(level.requestHeaders !== undefined && { requestHeaders: level.requestHeaders }),
    ...(level.responseHeaders !== undefined && { responseHeaders: level.responseHeaders })
  })
  return { top: pick(config), routes: config.routes.map(pick) }
}

function normalizeLimits (limits: GatehouseConfig['limits'], problems: string[]): LimitsOptions {
  return {
    sendTimeout: timerMs(problems, 'limits.sendTimeout', ms(limits?.sendTimeout, DEFAULT_LIMITS.sendTimeout)),
    receiveTimeout: timerMs(problems, 'limits.receiveTimeout', ms(limits?.receiveTimeout, DEFAULT_LIMITS.receiveTimeout)),
    headersTimeout: timerMs(problems, 'limits.headersTimeout', ms(limits?.headersTimeout, DEFAULT_LIMITS.headersTimeout)),
    keepAliveTimeout: timerMs(problems, 'limits.keepAliveTimeout', ms(limits?.keepAliveTimeout, DEFAULT_LIMITS.keepAliveTimeout)),
    maxConnections: limits?.maxConnections ?? DEFAULT_LIMITS.maxConnections,
    requestBuffer: limits?.requestBuffer === undefined ? DEFAULT_LIMITS.requestBuffer : parseSize(limits.requestBuffer)
  }
}

/**
 * The cross-check a person most needs next to schema errors: routes naming an upstream that
 * is not there. Read from a config that failed the schema, so every step checks its shape.
 */
function looseReferences (input: unknown): string[] {
  const config = input as { upstreams?: unknown, routes?: unknown } | null
  if (config === null || typeof config !== 'object') return []
  const { upstreams, routes } = config
  if (upstreams === null || typeof upstreams !== 'object' || Array.isArray(upstreams) || !Array.isArray(routes)) return []
  const names = new Set(Object.keys(upstreams))
  const out: string[] = []
  routes.forEach((r: { upstream?: unknown } | null, i) => {
    if (typeof r?.upstream === 'string' && r.upstream !== '' && !names.has(r.upstream)) out.push(unknownUpstream(i, r.upstream, names))
  })
  return out
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
    throw new ConfigError(`${file} is not valid JSON: ${jsonErrorAt(text, err as Error)}`)
  }
  return normalizeConfig(json, { baseDir: dirname(file), ...opts })
}
