import type { GatehouseConfig, RouteConfig, UpstreamConfig } from './schema'
import type { HeaderRules } from '../filters/header-rules'

// The config after validation and defaults: what the rest of Gatehouse reads.

export type Balance = NonNullable<UpstreamConfig['balance']>

export interface ServerOptions {
  id: string
  url: string
  /** scheme://host:port with the default port made explicit, as undici keys its pools. */
  origin: string
  weight: number
  backup: boolean
  /** The server's own `slowStart` in ms; undefined: the group's applies. */
  slowStart?: number
  /**
   * For a server made from a DNS record (servers[].resolve): the name the URL gave, which is
   * its Host (where the backend's own is sent) and its TLS server name; `origin` is the address.
   */
  hostname?: string
  /** `resolve` (the server's, else its group's) on a server whose url names a host: it stands for one server per address. */
  resolve?: true
}

export interface HealthCheckOptions {
  type: 'http' | 'tcp' | 'grpc'
  path: string
  /** The service a grpc check names in its request ('' is the server as a whole). */
  service: string
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

export type UpstreamProtocol = 'http/1.1' | 'h2' | 'h2c'

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
  passive: { maxFails: number, failTimeout: number, maxEjectionPercent: number }
  /** `slowStart` in ms, for servers that set none; 0 is off. */
  slowStart: number
  healthCheck?: HealthCheckOptions
  sticky?: StickyOptions
  /** undefined: the top-level cache applies; false: off for this group's routes. */
  cache?: CacheRule | false
  /** undefined: the top-level compress applies; false: off for this group's routes. */
  compress?: CompressRule | false
  /** TLS to the servers (`tls`); undefined when the upstream sets none. */
  tls?: UpstreamTls
  /**
   * The files `tls` was read from, resolved against the config's directory: `tls` holds their
   * PEM text only, and GET /config gives back paths (and never the client key's content).
   */
  tlsFiles?: { ca?: string, cert?: string, key?: string }
  /** `proxyProtocol`: the PROXY protocol header sent first on every connection to the servers; undefined: none. */
  proxyProtocol?: 'v1' | 'v2'
  /** `protocol`: HTTP/1.1, HTTP/2 over TLS (ALPN h2) or HTTP/2 in clear text with prior knowledge. */
  protocol: UpstreamProtocol
  /** `resolve`: servers named by a host name stand for one server per A/AAAA record (a server's own `resolve` wins). */
  resolve: boolean
  /** `resolveInterval` in ms: the longest a name's addresses are kept before it is asked again (its TTL when shorter). */
  resolveInterval: number
}

/** A rate limit as a route applies it: named apart from @fastify/rate-limit's RateLimitOptions. */
export interface RouteLimit {
  key: string
  max: number
  timeWindow: number
}

/** One configured route, normalized: named apart from Fastify's RouteOptions. */
export interface GatewayRoute {
  index: number
  /** `name`: the route's label in metrics and the access log (its index when it has none). */
  name?: string
  path: string
  host?: string
  methods?: string[]
  /**
   * undefined only on a redirect route, which answers without a backend. On a split route, the
   * first group listed: the one whose cache and compress rules the route follows.
   */
  upstream?: string
  /** `upstream` given as a list: the groups and their weights as the config gives them; undefined otherwise. */
  split?: SplitTarget[]
  stripPrefix?: string
  /** undefined: use the global limit; false: no limit on this route. */
  rateLimit?: RouteLimit | false
  /** The filters in force (the route's own, else the top-level ones); undefined when none. */
  filters?: RouteFilters
  requestHeaders?: HeaderRules
  responseHeaders?: HeaderRules
  redirect?: RedirectOptions
  /** undefined: the upstream's or the top-level cache applies; false: off for this route. */
  cache?: CacheRule | false
  /** undefined: the upstream's or the top-level compress applies; false: off for this route. */
  compress?: CompressRule | false
  /** `match.headers`, `.cookies`, `.query` (header names lower-cased); undefined when the route has none. */
  conditions?: MatchConditions
  /** A copy of the route's requests to another group (lib/mirror/); undefined: none. */
  mirror?: MirrorOptions
  /** gRPC-Web calls (`application/grpc-web*`) are bridged to gRPC (lib/grpc/web.ts). */
  grpcWeb: boolean
}

/** `routes[].mirror` with its defaults. */
export interface MirrorOptions {
  upstream: string
  /** 0-100: the share of requests copied. */
  percent: number
  /** Bytes: a request with a larger body is not copied. */
  maxBodySize: number
  /** Copies of this route's requests in flight at once; past it, not sent. */
  maxInFlight: number
}

export interface SplitTarget {
  name: string
  weight: number
}

/** One condition: a value, any of a list, an anchored regular expression, or presence. */
export type MatchValue = string | string[] | { regex: string } | { present: boolean }

export interface MatchConditions {
  headers?: Record<string, MatchValue>
  cookies?: Record<string, MatchValue>
  query?: Record<string, MatchValue>
}

/**
 * Request filters as plain data, so that a reload can compare route tables; the
 * plugins in plugins/policies/filters/ compile them. A key is present only when the filter is on.
 */
export interface RouteFilters {
  allow?: string[]
  deny?: string[]
  methods?: string[]
  /** Bytes. */
  maxBodySize?: number
  /** Lower-cased header names that must be present and non-empty. */
  requireHeaders?: string[]
  basicAuth?: BasicAuthOptions
}

export interface BasicAuthOptions {
  realm: string
  /** User name → bcrypt hash. */
  users: Record<string, string>
  passAuthorization: boolean
}

export interface RedirectOptions {
  /** A template: `{path}`, `{query}`, `{host}`, … (lib/filters/header-template.ts). */
  to: string
  status: 301 | 302 | 307 | 308
}

export interface NormalizedConfig {
  upstreams: Map<string, UpstreamOptions>
  routes: GatewayRoute[]
  rateLimit?: RouteLimit & { redis?: string, failClosed: boolean }
  cookieSecret?: string
  retryBodyLimit: number
  drainTimeout: number
  handleSignals: boolean
  admin?: AdminOptions
  /** Reload when the config file changes (file mode only; fixed at start). */
  watch: boolean
  limits: LimitsOptions
  /** The response cache, when on at the top level; its maxSize bounds the one store all routes share. */
  cache?: CacheOptions
  /** Response compression, when on at the top level (routes and upstreams may turn it on too). */
  compress?: CompressRule
  listen: ListenOptions
  /** Worker processes of the gatehouse command (lib/cluster/): a count or "auto", as written. */
  workers: number | 'auto'
  /** `dns.servers`: the DNS servers names are resolved with; empty: the system's resolver. */
  dns: { servers: string[] }
  /** The directory relative paths in the config (certificates) are read from: the config file's. */
  baseDir: string
  /** Tracing with OpenTelemetry, when `tracing` is set (fixed at start). */
  tracing?: TracingOptions
  /** The filters and header rules of each level as written (see WrittenFilters). */
  written: WrittenFilters
  /** `accessLog`: the line's format and fields, what is redacted, which requests get one (fixed at start). */
  accessLog: AccessLogOptions
}

export interface AccessLogOptions {
  /** "json", "combined", or a template of `$fields`, as written. */
  format: string
  /** The JSON line's fields, in order. */
  fields: string[]
  /** `query`: the query string logged as "[redacted]"; `headers`: lower-cased names whose values are. */
  redact: { query: boolean, headers: string[] }
  /** Only answers with a status of 400 or more get a line. */
  errorsOnly: boolean
  /** The share of answers below 400 that get a line. */
  sampleRatio: number
  /** "stdout" or an absolute file path (resolved against the config's directory): where combined and template lines go. */
  destination: string
}

type FilterKeys = 'filters' | 'requestHeaders' | 'responseHeaders'

/**
 * A route's filters and header rules are its own merged over the top-level defaults, so the
 * merged values cannot say which level gave what. GET /config gives back each level as written
 * (lib/config/export.ts): loaded again, the merge comes out the same.
 */
export interface WrittenFilters {
  top: Pick<GatehouseConfig, FilterKeys>
  /** By route index. */
  routes: Array<Pick<RouteConfig, FilterKeys>>
}

export interface LimitsOptions {
  sendTimeout: number
  receiveTimeout: number
  headersTimeout: number
  keepAliveTimeout: number
  maxConnections: number
  /** Bytes of a request body received whole before a server is chosen. */
  requestBuffer: number
}

/** What a cached route follows (lib/config/normalize/cache.ts merges route over upstream over top level). */
export interface CacheSettings {
  maxEntrySize: number
  staleIfError: number
  staleWhileRevalidate: number
  lockTimeout: number
}

export type CacheRule = Partial<CacheSettings>

export interface CacheOptions extends CacheRule {
  maxSize: number
}

export type Encoding = 'br' | 'gzip' | 'deflate'

/** What a compressing route follows (lib/config/normalize/compress.ts merges route over upstream over top level). */
export interface CompressSettings {
  /** Bytes: a smaller answer (by its content-length, or its size when held whole) is sent as is. */
  threshold: number
  /** The codings offered, the server's preference first when the client weighs them equally. */
  encodings: Encoding[]
  /** Lower-cased media types (`text/*` for a whole top type); undefined: the built-in compressible check. */
  types?: string[]
}

export type CompressRule = Partial<CompressSettings>

export interface AdminOptions {
  port: number
  host: string
  /** Bearer token for every admin path but GET /health; without one the API is read-only. */
  token?: string
  /** Host header names answered besides loopback addresses, lower-cased. */
  hosts: string[]
  /** Redis url through which a fleet shares its runtime changes (plugins/ops/fleet-sync.ts). */
  sync?: string
  /** How long a dashboard login lasts, ms. */
  sessionTtl: number
}

/** A certificate and its key, read from their files (PEM text), and the file names for log lines. */
export interface CertPair {
  cert: string
  key: string
  certFile: string
  keyFile: string
}

export interface FrontTls extends CertPair {
  /** By server name: exact names and one-label wildcards ("*.example.org"). */
  sni: Map<string, CertPair>
  minVersion: 'TLSv1.2' | 'TLSv1.3'
}

export interface ListenOptions {
  tls?: FrontTls
  http2: boolean
  /** The plain-HTTP port that redirects to https (0: any free port, for tests). */
  redirectHttp?: number
  /** `listen.proxyProtocol`: the peers whose connections start with a PROXY protocol header; undefined: none do. */
  proxyProtocol?: { from: string[] }
}

/** What undici's connect and tls.connect take, as read from the upstream's `tls` files. */
export interface UpstreamTls {
  ca?: string
  cert?: string
  key?: string
  servername?: string
  rejectUnauthorized: boolean
}

/** `tracing`: spans exported with OTLP over HTTP (plugins/ops/tracing.ts). */
export interface TracingOptions {
  endpoint: string
  serviceName: string
  /** The share of the traces this gateway starts that are sampled; a client's traceparent decides for its own. */
  sampleRatio: number
  /** Sent with every export (a collector's API key): redacted in GET /config. */
  headers: Record<string, string>
  /** ms. */
  batchDelay: number
  /** ms. */
  exportTimeout: number
}
