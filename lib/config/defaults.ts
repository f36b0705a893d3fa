import type { Balance } from './types'

// Every default of the config, as named constants: the README's config tables list these same
// values, and lib/config/ apply them once, at boot, after the schema has passed.

export const DEFAULT_BALANCE: Balance = 'round-robin'
export const DEFAULT_WEIGHT = 1
export const DEFAULT_CONNECT_TIMEOUT = 5_000
export const DEFAULT_RESPONSE_TIMEOUT = 60_000
/** How long a request may wait for a free pooled connection: HAProxy's `timeout queue`. */
export const DEFAULT_QUEUE_TIMEOUT = 5_000
/** An open WebSocket tunnel with no bytes either way for this long is closed (nginx: proxy_read_timeout). */
export const DEFAULT_TUNNEL_IDLE_TIMEOUT = 3_600_000
export const DEFAULT_CONNECTIONS = 128
/** `upstreams.NAME.protocol`: what the gateway speaks to a group's servers. */
export const DEFAULT_UPSTREAM_PROTOCOL = 'http/1.1' as const
/**
 * Streams one HTTP/2 connection to a backend carries at once before the pool opens another:
 * the SETTINGS_MAX_CONCURRENT_STREAMS Node's own HTTP/2 server and most others announce,
 * and Envoy's default max_concurrent_streams per upstream connection is of the same order.
 */
export const H2_STREAMS_PER_CONNECTION = 100
/** A route bridges gRPC-Web only when it says so, as Envoy's grpc_web filter is added per listener. */
export const DEFAULT_GRPC_WEB = false
export const DEFAULT_RETRIES = 2
export const DEFAULT_RETRY_BUDGET = 0.2
export const DEFAULT_MAX_FAILS = 3
export const DEFAULT_FAIL_TIMEOUT = 10_000
/**
 * Envoy's outlier_detection max_ejection_percent: at most this share of a group's servers
 * (primaries and backups counted apart) is passively ejected at once, rounded down, so that
 * below 100 the last one is never ejected (nginx never marks a single-server group down).
 */
export const DEFAULT_MAX_EJECTION_PERCENT = 50
/** HAProxy's `slowstart`, Envoy's slow_start_window: 0 is off, a recovered server gets its full weight at once. */
export const DEFAULT_SLOW_START = 0
export const DEFAULT_HEALTH = {
  type: 'http' as const,
  path: '/health',
  /** A grpc check asks about the server as a whole (the empty service name of grpc.health.v1). */
  service: '',
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
/** Host names the admin API answers besides loopback addresses: a page on another site that rebinds its own name to 127.0.0.1 must not reach the API (DNS rebinding). */
export const DEFAULT_ADMIN_HOSTS: string[] = []
/** How long a dashboard login lasts: a working day, then the token again. */
export const DEFAULT_ADMIN_SESSION_TTL = 12 * 60 * 60 * 1000
export const DEFAULT_WATCH = false
/** One process, as before workers existed: the command behaves as a plain Fastify server. */
export const DEFAULT_WORKERS = 1
// Server-level limits, what a hostile or stalled client may hold, each as nginx or HAProxy sets it unless said otherwise.
export const MAX_TIMER_MS = 2 ** 31 - 1
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
  maxConnections: 10_000,
  /**
   * nginx's proxy_request_buffering (on): a body up to this size is received whole before a
   * server is chosen. nginx buffers 8-16 KiB in memory and the rest on disk; Gatehouse spills
   * nothing to disk, so the bound is memory per upload in progress. 64 KiB, the retryBodyLimit
   * default, so that by default the memory a request may hold is what it was.
   */
  requestBuffer: 64 * 1024
}

// Request filters and redirects.
export const DEFAULT_BASIC_AUTH_REALM = 'gatehouse'
/** 302 when a redirect names no status: temporary, so a mistake is not cached by browsers for good. */
export const DEFAULT_REDIRECT_STATUS = 302
// The response cache. Stale answers are off unless asked for, by the config or by
// the response itself (stale-if-error, stale-while-revalidate: RFC 5861).
export const DEFAULT_CACHE = {
  maxSize: 256 * 1024 ** 2,
  maxEntrySize: 8 * 1024 ** 2,
  staleIfError: 0,
  staleWhileRevalidate: 0,
  /** How long a request waits for another one fetching the same key (nginx: proxy_cache_lock_timeout). */
  lockTimeout: 5_000
}
// Compression: off unless `compress` is set. nginx's gzip_min_length is 20 bytes;
// 1 KiB is @fastify/compress's threshold, below which the coding's own overhead eats the gain.
export const DEFAULT_COMPRESS = {
  threshold: 1024,
  encodings: ['br', 'gzip'] as Array<'br' | 'gzip' | 'deflate'>
}
/**
 * Levels of on-the-fly encoding, fixed: brotli's default quality (11) costs tens of times the CPU
 * of quality 4, which still encodes smaller than gzip 6 at about gzip 6's cost (Cloudflare's
 * measurements; @fastify/compress's default too). gzip 6 is zlib's own default. The brotli window
 * is 512 KiB (ngx_brotli's brotli_window) rather than 4 MiB, to bound each stream's memory.
 */
export const BROTLI_QUALITY = 4
export const BROTLI_WINDOW_BITS = 19
export const GZIP_LEVEL = 6
// Servers from DNS. nginx's `resolver valid=` overrides the TTL, HAProxy's `hold valid` is 10 s;
// 30 s bounds how long a changed record may go unseen when its TTL is long.
export const DEFAULT_RESOLVE = false
export const DEFAULT_RESOLVE_INTERVAL = 30_000
/** A TTL of 0 or 1 s is re-asked at most this often: HAProxy's `timeout resolve` default is 1 s. */
export const MIN_RESOLVE_INTERVAL = 1_000
/** How soon a failed lookup is tried again (the last good addresses serve meanwhile), when resolveInterval is longer. */
export const DNS_RETRY_INTERVAL = 5_000
/** How long one query waits for an answer, and how many times it is sent (node:dns Resolver's timeout and tries). */
export const DNS_QUERY_TIMEOUT = 2_000
export const DNS_QUERY_TRIES = 2
/** `dns.servers`: none, the system's resolver (the servers of /etc/resolv.conf, and /etc/hosts). */
export const DEFAULT_DNS_SERVERS: string[] = []
// TLS. TLS 1.0 and 1.1 are deprecated by RFC 8996; Node's own floor is 1.2 too.
export const DEFAULT_TLS_MIN_VERSION = 'TLSv1.2' as const
export const DEFAULT_REJECT_UNAUTHORIZED = true

/**
 * `routes[].mirror`: every request is copied unless a share is given (nginx's `mirror` copies all;
 * Envoy's request_mirror_policies default to 100 %); bodies up to what the gateway holds anyway
 * (`limits.requestBuffer`'s default); at most this many copies in flight per route.
 */
export const DEFAULT_MIRROR_PERCENT = 100
export const DEFAULT_MIRROR_MAX_BODY_SIZE = 65_536
export const DEFAULT_MIRROR_MAX_IN_FLIGHT = 100

// The access log: today's JSON line through the Fastify logger unless configured otherwise.
/** `accessLog.format`: the JSON line through pino; "combined" or a template of `$fields` are written by Gatehouse itself. */
export const DEFAULT_ACCESS_LOG_FORMAT = 'json'
/** `accessLog.fields`: the JSON line's fields, those it had before they were selectable (grpcStatus only on a gRPC call). */
export const DEFAULT_ACCESS_LOG_FIELDS = ['reqId', 'remoteAddress', 'upstream', 'server', 'status', 'responseTime', 'requestId', 'reason', 'grpcStatus']
/** `accessLog.redact.query`: kept, as nginx, Apache and Envoy log the request target whole. */
export const DEFAULT_ACCESS_LOG_REDACT_QUERY = false
/** `accessLog.redact.headers`: none (header fields are logged only when a format names them). */
export const DEFAULT_ACCESS_LOG_REDACT_HEADERS: string[] = []
export const DEFAULT_ACCESS_LOG_ERRORS_ONLY = false
/** `accessLog.sampleRatio`: every successful request gets its line. */
export const DEFAULT_ACCESS_LOG_SAMPLE_RATIO = 1
/** `accessLog.destination` of the combined and template formats. */
export const DEFAULT_ACCESS_LOG_DESTINATION = 'stdout'

// Tracing (OpenTelemetry): off unless `tracing` is set. Each default is the one the OpenTelemetry
// SDKs take from their environment variables when these are unset, but the service name.
/** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT's default: a collector on this machine, OTLP over HTTP. */
export const DEFAULT_TRACING_ENDPOINT = 'http://localhost:4318/v1/traces'
/** OTEL_SERVICE_NAME would default to "unknown_service:node"; a gateway names itself. */
export const DEFAULT_TRACING_SERVICE_NAME = 'gatehouse'
/** OTEL_TRACES_SAMPLER's default is parentbased_always_on: every trace this gateway starts is sampled. */
export const DEFAULT_TRACING_SAMPLE_RATIO = 1
/** OTEL_EXPORTER_OTLP_TRACES_HEADERS: none. */
export const DEFAULT_TRACING_HEADERS: Record<string, string> = {}
/** OTEL_BSP_SCHEDULE_DELAY: ended spans are sent at most this long after they end. */
export const DEFAULT_TRACING_BATCH_DELAY = 5_000
/** OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: how long one export to the collector may take. */
export const DEFAULT_TRACING_EXPORT_TIMEOUT = 10_000
/** OTEL_BSP_MAX_QUEUE_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE: ended spans held while the collector is slow or down (past it they are dropped), and sent per request. */
export const TRACING_MAX_QUEUE = 2048
export const TRACING_MAX_BATCH = 512

// Route matching on headers, cookies and query parameters.
/** safe-regex2's bound on repetitions in one `match.*.regex` (its own default): past it, or with a star height over 1, the regex is refused at load. */
export const MATCH_REGEX_REPETITION_LIMIT = 25
// Weighted splits between groups (a route's `upstream` as a list).
/** The largest weight of one group in a split: a share as fine as one in a million, and sums far from any integer limit. */
export const MAX_SPLIT_WEIGHT = 1_000_000
/**
 * The group-affinity cookie of a split route whose chosen group is sticky: this prefix and the
 * route's index (`gh_split_0`), one per route, so that two split routes never overwrite each
 * other's choice. Its lifetime and attributes are the chosen group's `sticky` ones.
 */
export const SPLIT_COOKIE_PREFIX = 'gh_split_'
