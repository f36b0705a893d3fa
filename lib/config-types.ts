import type { UpstreamConfig } from './config-schema'

// The config after validation and defaults: what the rest of Gatehouse reads.

export type Balance = NonNullable<UpstreamConfig['balance']>

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
  /** TLS to the servers (`tls`); undefined when the upstream sets none. */
  tls?: UpstreamTls
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
  path: string
  host?: string
  methods?: string[]
  upstream: string
  stripPrefix?: string
  /** undefined: use the global limit; false: no limit on this route. */
  rateLimit?: RouteLimit | false
}

export interface NormalizedConfig {
  upstreams: Map<string, UpstreamOptions>
  routes: GatewayRoute[]
  rateLimit?: RouteLimit & { redis?: string, failClosed: boolean }
  cookieSecret?: string
  retryBodyLimit: number
  drainTimeout: number
  handleSignals: boolean
  admin?: { port: number, host: string }
  limits: LimitsOptions
  listen: ListenOptions
  /** The directory relative paths in the config (certificates) are read from: the config file's. */
  baseDir: string
}

export interface LimitsOptions {
  sendTimeout: number
  receiveTimeout: number
  headersTimeout: number
  keepAliveTimeout: number
  maxConnections: number
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
}

/** What undici's connect and tls.connect take, as read from the upstream's `tls` files. */
export interface UpstreamTls {
  ca?: string
  cert?: string
  key?: string
  servername?: string
  rejectUnauthorized: boolean
}
