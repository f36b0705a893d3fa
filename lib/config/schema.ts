import { Type, type Static } from '@sinclair/typebox'
import { BALANCER_NAMES } from '../upstreams/balancers/names'
import { ROUTE_METHODS } from '../http/methods'
import { DURATION_PATTERN } from './duration'
import { SIZE_PATTERN } from './size'
import { MAX_SPLIT_WEIGHT } from './defaults'

// Everything a user may write in a Gatehouse config. Every object is closed
// (additionalProperties: false) so that a typo fails at start instead of silently
// doing nothing. Defaults live in defaults.ts and are applied after validation.

function StringEnum<T extends string[]> (values: [...T], description?: string) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: values, description })
}

function Closed<T extends Parameters<typeof Type.Object>[0]> (properties: T) {
  return Type.Object(properties, { additionalProperties: false })
}

/** Milliseconds as a number, or a string such as "500ms", "1.5s", "1h30m", "1d" (lib/config/duration.ts). */
export const Duration = Type.Union([
  Type.Integer({ minimum: 0 }),
  Type.String({ pattern: DURATION_PATTERN })
], { description: 'a duration: milliseconds as a number, or a string with no spaces such as "500ms", "1s", "1h30m" or "1d"' })

/** Bytes as a number, or a string such as "512KB", "8MB", "1GB" (lib/config/size.ts). */
export const Size = Type.Union([
  Type.Integer({ minimum: 0 }),
  Type.String({ pattern: SIZE_PATTERN })
], { description: 'a size: bytes as a number, or a string with no spaces such as "512KB", "8MB" or "1GB"' })

// The response cache: a rule per upstream or route, and the store's bound at the top.
const cacheRule = {
  maxEntrySize: Type.Optional(Size),
  staleIfError: Type.Optional(Duration),
  staleWhileRevalidate: Type.Optional(Duration),
  lockTimeout: Type.Optional(Duration)
}
export const CacheRuleSchema = Type.Union([Type.Literal(false), Closed(cacheRule)])
export const CacheSchema = Type.Union([Type.Literal(false), Closed({ maxSize: Type.Optional(Size), ...cacheRule })])

// Compression: the same keys at the top level, per upstream and per route. Encodings
// and media types are checked in lib/config/normalize/compress.ts, which names the item that is wrong.
export const CompressSchema = Type.Union([Type.Literal(false), Closed({
  threshold: Type.Optional(Size),
  encodings: Type.Optional(Type.Array(Type.String())),
  types: Type.Optional(Type.Array(Type.String()))
})], { description: 'false, or an object with any of threshold, encodings and types' })

export const ServerSchema = Closed({
  url: Type.String({ pattern: '^https?://[^/?#\\s]+/?$', description: 'an http:// or https:// origin such as "http://127.0.0.1:9001"' }),
  id: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9._:@\\[\\]-]+$' })),
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  backup: Type.Optional(Type.Boolean()),
  slowStart: Type.Optional(Duration),
  resolve: Type.Optional(Type.Boolean({ description: 'true: one server per A/AAAA record of the url\'s host name, re-resolved' }))
})

export const HealthCheckSchema = Closed({
  type: Type.Optional(StringEnum(['http', 'tcp', 'grpc'])),
  service: Type.Optional(Type.String({ description: 'the service a grpc check asks grpc.health.v1.Health/Check about; empty: the server as a whole' })),
  path: Type.Optional(Type.String({ pattern: '^/' })),
  host: Type.Optional(Type.String({ minLength: 1 })),
  interval: Type.Optional(Duration),
  timeout: Type.Optional(Duration),
  healthyThreshold: Type.Optional(Type.Integer({ minimum: 1 })),
  unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1 })),
  expectStatus: Type.Optional(Type.Tuple([
    Type.Integer({ minimum: 100, maximum: 599 }),
    Type.Integer({ minimum: 100, maximum: 599 })
  ]))
})

export const PassiveSchema = Closed({
  maxFails: Type.Optional(Type.Integer({ minimum: 0 })),
  failTimeout: Type.Optional(Duration),
  maxEjectionPercent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 }))
})

export const StickySchema = Closed({
  cookie: Type.Optional(Type.String({ pattern: '^[!#$%&\'*+\\-.^_`|~0-9A-Za-z]+$' })),
  ttl: Type.Optional(Duration),
  secure: Type.Optional(Type.Boolean()),
  httpOnly: Type.Optional(Type.Boolean()),
  sameSite: Type.Optional(StringEnum(['lax', 'strict', 'none']))
})

// TLS to the servers of one upstream; paths are relative to the config file.
export const UpstreamTlsSchema = Closed({
  ca: Type.Optional(Type.String({ minLength: 1, description: 'a PEM file of CA certificates to trust besides the system ones' })),
  servername: Type.Optional(Type.String({ minLength: 1, description: 'the SNI name and the name to verify, when not the URL host' })),
  cert: Type.Optional(Type.String({ minLength: 1, description: 'a PEM client certificate, for servers that ask for one (mutual TLS)' })),
  key: Type.Optional(Type.String({ minLength: 1, description: 'the PEM private key of `cert`' })),
  rejectUnauthorized: Type.Optional(Type.Boolean())
})

export const UpstreamSchema = Closed({
  balance: Type.Optional(StringEnum([...BALANCER_NAMES])),
  hashKey: Type.Optional(Type.String({ pattern: '^(ip|path|header:[!#$%&\'*+\\-.^_`|~0-9A-Za-z]+|cookie:[!#$%&\'*+\\-.^_`|~0-9A-Za-z]+)$', description: 'one of "ip", "path", "header:NAME", "cookie:NAME"' })),
  servers: Type.Array(ServerSchema, { minItems: 1 }),
  timeouts: Type.Optional(Closed({
    connect: Type.Optional(Duration),
    response: Type.Optional(Duration),
    queue: Type.Optional(Duration),
    tunnelIdle: Type.Optional(Duration)
  })),
  preserveHost: Type.Optional(Type.Boolean()),
  connections: Type.Optional(Type.Integer({ minimum: 1 })),
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
  retryBudget: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  passive: Type.Optional(PassiveSchema),
  slowStart: Type.Optional(Duration),
  healthCheck: Type.Optional(HealthCheckSchema),
  sticky: Type.Optional(StickySchema),
  cache: Type.Optional(CacheRuleSchema),
  compress: Type.Optional(CompressSchema),
  tls: Type.Optional(UpstreamTlsSchema),
  proxyProtocol: Type.Optional(StringEnum(['v1', 'v2'], 'the PROXY protocol version sent to the servers: "v1" or "v2"')),
  protocol: Type.Optional(StringEnum(['http/1.1', 'h2', 'h2c'], 'what is spoken to the servers: "http/1.1", "h2" or "h2c"')),
  resolve: Type.Optional(Type.Boolean()),
  resolveInterval: Type.Optional(Duration)
})

const RateLimitKey = Type.String({ pattern: '^(ip|header:[!#$%&\'*+\\-.^_`|~0-9A-Za-z]+)$', description: '"ip" or "header:NAME"' })

export const RouteRateLimitSchema = Closed({
  key: Type.Optional(RateLimitKey),
  max: Type.Optional(Type.Integer({ minimum: 1 })),
  timeWindow: Type.Optional(Duration)
})

export const RateLimitSchema = Closed({
  key: Type.Optional(RateLimitKey),
  max: Type.Optional(Type.Integer({ minimum: 1 })),
  timeWindow: Type.Optional(Duration),
  redis: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  failClosed: Type.Optional(Type.Boolean())
})

// Limits of the server Gatehouse is registered on: what a hostile client may hold.
export const LimitsSchema = Closed({
  sendTimeout: Type.Optional(Duration),
  receiveTimeout: Type.Optional(Duration),
  headersTimeout: Type.Optional(Duration),
  keepAliveTimeout: Type.Optional(Duration),
  maxConnections: Type.Optional(Type.Integer({ minimum: 1 })),
  requestBuffer: Type.Optional(Size)
})

// Request filters and header rules: per route, and at the top level as defaults.
// Header names, addresses, hashes and templates are checked in lib/config/normalize/filters.ts, which
// names the field and says what is wrong with it (a pattern error would not).

export const FiltersSchema = Closed({
  allow: Type.Optional(Type.Array(Type.String())),
  deny: Type.Optional(Type.Array(Type.String())),
  methods: Type.Optional(Type.Array(StringEnum([...ROUTE_METHODS]), { minItems: 1, uniqueItems: true })),
  maxBodySize: Type.Optional(Type.Union([Type.Literal(false), Size])),
  requireHeaders: Type.Optional(Type.Record(Type.String(), Type.Boolean())),
  basicAuth: Type.Optional(Type.Union([Type.Literal(false), Closed({
    realm: Type.Optional(Type.String({ pattern: '^[^"\\\\\\x00-\\x1f]*$', description: 'a realm without quotes, backslashes or control characters' })),
    users: Type.Record(Type.String(), Type.String(), { minProperties: 1 }),
    passAuthorization: Type.Optional(Type.Boolean())
  })]))
})

export const HeaderRulesSchema = Closed({
  set: Type.Optional(Type.Record(Type.String(), Type.String())),
  add: Type.Optional(Type.Record(Type.String(), Type.String())),
  remove: Type.Optional(Type.Array(Type.String()))
})

export const RedirectSchema = Closed({
  to: Type.String({ minLength: 1 }),
  status: Type.Optional(Type.Unsafe<301 | 302 | 307 | 308>({ type: 'integer', enum: [301, 302, 307, 308] }))
})

// The listener's TLS and protocols; paths are relative to the config file.
const CertPair = Closed({
  cert: Type.String({ minLength: 1, description: 'a PEM certificate (chain) file' }),
  key: Type.String({ minLength: 1, description: 'the PEM private key file of `cert`' })
})

export const ListenSchema = Closed({
  tls: Type.Optional(Closed({
    cert: Type.String({ minLength: 1 }),
    key: Type.String({ minLength: 1 }),
    // Names are checked in lib/config/normalize/tls.ts, to say which one is not a host name.
    sni: Type.Optional(Type.Record(Type.String(), CertPair)),
    minVersion: Type.Optional(StringEnum(['TLSv1.2', 'TLSv1.3']))
  })),
  http2: Type.Optional(Type.Boolean()),
  redirectHttp: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  // Addresses are checked in lib/config/normalize/tls.ts, which names the entry that is not one.
  proxyProtocol: Type.Optional(Closed({
    from: Type.Array(Type.String(), { minItems: 1, description: 'the addresses and CIDRs of the balancers that send the PROXY protocol' })
  }))
})

// Traffic mirroring: a copy of each sampled request to another group, its answer discarded
// (lib/mirror/, lib/config/normalize/mirror.ts checks the group).
export const MirrorSchema = Closed({
  upstream: Type.String({ minLength: 1 }),
  percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  maxBodySize: Type.Optional(Size),
  maxInFlight: Type.Optional(Type.Integer({ minimum: 1 }))
})

// A header, cookie or query condition of a route (lib/config/normalize/match.ts checks names and regexes).
export const MatchValueSchema = Type.Union([
  Type.String(),
  Type.Array(Type.String(), { minItems: 1 }),
  // One of the two keys: lib/config/normalize/match.ts says so when both or neither are given.
  Closed({ regex: Type.Optional(Type.String({ minLength: 1 })), present: Type.Optional(Type.Boolean()) })
], { description: 'a value, a list of values (any of them), { "regex": "..." } or { "present": true|false }' })
const MatchMap = Type.Record(Type.String(), MatchValueSchema, { minProperties: 1 })

export const SplitTargetSchema = Closed({
  name: Type.String({ minLength: 1 }),
  weight: Type.Integer({ minimum: 0, maximum: MAX_SPLIT_WEIGHT })
})

export const RouteSchema = Closed({
  // Unique (lib/config/normalize/routes.ts says which routes share one); never digits alone,
  // which an unnamed route's index label could be.
  name: Type.Optional(Type.String({ pattern: '^(?![0-9]+$)[A-Za-z0-9_.:-]{1,64}$', description: '1-64 letters, digits, "_", ".", ":" or "-", not digits alone' })),
  match: Closed({
    path: Type.String({ pattern: '^/' }),
    host: Type.Optional(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*$', description: 'a host name, or one with a leading wildcard such as "*.example.com"' })),
    methods: Type.Optional(Type.Array(StringEnum([...ROUTE_METHODS]), { minItems: 1, uniqueItems: true })),
    headers: Type.Optional(MatchMap),
    cookies: Type.Optional(MatchMap),
    query: Type.Optional(MatchMap)
  }),
  // Required unless the route is a redirect (lib/config/normalize/routes.ts says which is missing).
  // A list is a weighted split between groups (lib/config/normalize/split.ts checks names and weights).
  upstream: Type.Optional(Type.Union([
    Type.String({ minLength: 1 }),
    Type.Array(SplitTargetSchema, { minItems: 1 })
  ], { description: 'a group name, or a list of { "name": "...", "weight": N } to split between groups' })),
  stripPrefix: Type.Optional(Type.String({ pattern: '^/' })),
  rateLimit: Type.Optional(Type.Union([Type.Literal(false), RouteRateLimitSchema])),
  filters: Type.Optional(FiltersSchema),
  requestHeaders: Type.Optional(HeaderRulesSchema),
  responseHeaders: Type.Optional(HeaderRulesSchema),
  redirect: Type.Optional(RedirectSchema),
  cache: Type.Optional(CacheRuleSchema),
  compress: Type.Optional(CompressSchema),
  mirror: Type.Optional(MirrorSchema),
  grpcWeb: Type.Optional(Type.Boolean())
})

// The access log's format, fields, redaction and sampling; template fields and JSON field names
// are checked in lib/config/normalize/access-log.ts, which names the one it does not know.
export const AccessLogSchema = Closed({
  format: Type.Optional(Type.String({ minLength: 1, description: '"json", "combined", or a template of $fields such as "$remote_addr $status $upstream"' })),
  fields: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true })),
  redact: Type.Optional(Closed({
    query: Type.Optional(Type.Boolean()),
    headers: Type.Optional(Type.Array(Type.String({ pattern: '^[!#$%&\'*+\\-.^_`|~0-9A-Za-z]+$', description: 'a header name' }), { uniqueItems: true }))
  })),
  errorsOnly: Type.Optional(Type.Boolean()),
  sampleRatio: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  destination: Type.Optional(Type.String({ minLength: 1, description: '"stdout" or a file path' }))
})

// The admin listener and how it is guarded (token, allowed hosts, sessions).
export const AdminSchema = Closed({
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  host: Type.Optional(Type.String({ minLength: 1 })),
  token: Type.Optional(Type.String({ minLength: 16, description: 'at least 16 characters' })),
  hosts: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9.:\\[\\]-]+$' }), { uniqueItems: true })),
  sync: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  sessionTtl: Type.Optional(Duration)
})

// Tracing with OpenTelemetry, off unless the key is there. Header names and values and the
// endpoint are checked in lib/config/normalize/tracing.ts, which names the one that is wrong.
export const TracingSchema = Closed({
  endpoint: Type.Optional(Type.String({ minLength: 1, description: 'the OTLP/HTTP traces URL, such as "http://collector:4318/v1/traces"' })),
  serviceName: Type.Optional(Type.String({ minLength: 1 })),
  sampleRatio: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  batchDelay: Type.Optional(Duration),
  exportTimeout: Type.Optional(Duration)
})

export const ConfigSchema = Closed({
  upstreams: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), UpstreamSchema, { minProperties: 1 }),
  routes: Type.Array(RouteSchema, { minItems: 1 }),
  rateLimit: Type.Optional(RateLimitSchema),
  cookieSecret: Type.Optional(Type.String({ minLength: 32 })),
  retryBodyLimit: Type.Optional(Type.Integer({ minimum: 0 })),
  drainTimeout: Type.Optional(Duration),
  admin: Type.Optional(AdminSchema),
  accessLog: Type.Optional(AccessLogSchema),
  handleSignals: Type.Optional(Type.Boolean()),
  limits: Type.Optional(LimitsSchema),
  filters: Type.Optional(FiltersSchema),
  requestHeaders: Type.Optional(HeaderRulesSchema),
  responseHeaders: Type.Optional(HeaderRulesSchema),
  cache: Type.Optional(CacheSchema),
  compress: Type.Optional(CompressSchema),
  watch: Type.Optional(Type.Boolean()),
  listen: Type.Optional(ListenSchema),
  // Processes serving the port under the gatehouse command: a count, or "auto" for one per core.
  workers: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1024 }), Type.Literal('auto')])),
  // Entries are checked in lib/config/normalize/dns.ts, which names the one that is no address.
  dns: Type.Optional(Closed({
    // Empty: the system's resolver, as when left out.
    servers: Type.Optional(Type.Array(Type.String(), { description: 'DNS servers as "address" or "address:port" ("[v6]:port")' }))
  })),
  tracing: Type.Optional(TracingSchema)
})

/** The config as a user writes it: every default may be left out. */
export type GatehouseConfig = Static<typeof ConfigSchema>
export type UpstreamConfig = Static<typeof UpstreamSchema>
export type ServerConfig = Static<typeof ServerSchema>
export type RouteConfig = Static<typeof RouteSchema>
export type ListenConfig = Static<typeof ListenSchema>
export type UpstreamTlsConfig = Static<typeof UpstreamTlsSchema>
export type DurationValue = Static<typeof Duration>
export type FiltersConfig = Static<typeof FiltersSchema>
export type HeaderRulesConfig = Static<typeof HeaderRulesSchema>
export type SizeValue = Static<typeof Size>
export type CacheRuleConfig = Static<typeof CacheRuleSchema>
export type CacheConfig = Static<typeof CacheSchema>
export type CompressConfig = Static<typeof CompressSchema>
export type AccessLogConfig = Static<typeof AccessLogSchema>
export type TracingConfig = Static<typeof TracingSchema>
export type MatchValueConfig = Static<typeof MatchValueSchema>
