import type { Backend } from './backend'
import { BackendSet } from './backend-set'
import { createBalancer } from './balancers'
import type { Balancer, PickContext } from './balancers'
import type { ServerOptions, UpstreamOptions } from '../config'
import { compileHashKey, type KeyExtractor, type KeySource } from './hash-key'
import { RetryBudget } from '../proxy/retry-budget'
import type { RefusalReason } from '../filters/refusal'
import { LatencyHistogram } from '../admin/latency-histogram'
import { poolKey } from '../proxy/pool-key'

/** What a selection must respect beyond readiness, as Pingora's select_with and Envoy's load-balancer context carry it. */
export interface SelectContext {
  /** Servers this request already failed on: never chosen again for it. */
  tried?: readonly Backend[]
  /** A server the request would like (the sticky hint), taken while it is a candidate. */
  preferred?: Backend
}

/**
 * One upstream group: its servers (BackendSet, which alone decides readiness), a balancer
 * that chooses among the ready ones, and the retry budget shared by its requests.
 */
export class Upstream {
  readonly name: string
  options: UpstreamOptions
  readonly backends: BackendSet
  readonly budget: RetryBudget
  private balancer: Balancer
  private keyOf?: KeyExtractor
  /** Requests answered, by status class: index 1 for 1xx … 5 for 5xx. */
  readonly responses = [0, 0, 0, 0, 0, 0]
  /** Attempts sent again to another server. */
  retries = 0
  /** Attempts that waited `timeouts.queue` for a free connection and got none, each answered 503 (HAProxy's `timeout queue`). */
  queueTimeouts = 0
  /** Requests a filter refused on a route to this group, by reason (a bounded set, so it can be a metric label). */
  readonly refused = new Map<RefusalReason, number>()
  /** Time to answer each request to the group, as the access log has it: the metrics' histogram and the dashboard read it. */
  readonly latency = new LatencyHistogram()
  /** Health-check verdict changes, by the state entered. */
  readonly healthTransitions = { healthy: 0, unhealthy: 0 }
  /** Called when passive checks eject a server here (under workers: the others eject it too). */
  onEjected: ((backend: Backend) => void) | undefined
  // Reused for every pick: selection is synchronous, so one object serves all requests.
  private readonly ctx: PickContext = {}
  /**
   * The servers each server named for DNS (`resolve`) stands for, by its id: one per address,
   * kept by lib/upstreams/dns-servers.ts. Until a name's first lookup succeeds the server
   * stands for itself (undici looks the name up per connection, as without `resolve`).
   */
  readonly resolved = new Map<string, ServerOptions[]>()

  /** `random` and `clock` are Math.random and Date.now unless a test gives fake ones. */
  constructor (options: UpstreamOptions, private readonly random?: () => number, clock?: () => number) {
    this.name = options.name
    this.options = options
    this.backends = new BackendSet(this.expand(options.servers), options, clock)
    this.keyPools()
    this.budget = new RetryBudget(options.retryBudget)
    this.balancer = createBalancer(options.balance, this.backends.all(), { random })
    this.keyOf = options.hashKey === undefined ? undefined : compileHashKey(options.hashKey)
  }

  /**
   * Chooses a server for a request: a ready primary not yet tried for it, else a ready
   * backup not yet tried. `preferred` (a sticky hint) wins when it is among those.
   * Returns undefined when no server can take the request.
   */
  select (req: KeySource, { tried, preferred }: SelectContext = {}): Backend | undefined {
    const now = this.backends.clock()
    const ready = this.backends.ready(now)
    let candidates = withoutTried(ready.primary, tried)
    if (candidates.length === 0) candidates = withoutTried(ready.backup, tried)
    if (candidates.length === 0) return undefined
    let chosen: Backend
    if (preferred !== undefined && candidates.includes(preferred)) {
      chosen = preferred
    } else {
      this.ctx.hashKey = this.keyOf?.(req)
      this.ctx.now = now
      chosen = this.balancer.pick(candidates, this.ctx)
    }
    this.backends.markChosen(chosen)
    return chosen
  }

  /** A failed attempt (refused, reset, timed out): counted, and passive ejection applied. True when it ejected the server. */
  attemptFailed (backend: Backend, now: number): boolean {
    backend.failedAttempts++
    const ejected = this.backends.recordFailure(backend, now)
    if (ejected) this.onEjected?.(backend)
    return ejected
  }

  /**
   * Whether a request that has failed on `failed` servers may try another: within the
   * group's `retries` and its retry budget. A granted retry is counted.
   */
  mayRetry (failed: number): boolean {
    if (failed > this.options.retries || !this.budget.tryAcquire()) return false
    this.retries++
    return true
  }

  /** Applies a reloaded config for this group, keeping the state of unchanged servers. */
  update (options: UpstreamOptions): { added: Backend[], removed: Backend[] } {
    this.options = options
    const diff = this.backends.update(this.expand(options.servers), options)
    this.keyPools()
    this.budget.ratio = options.retryBudget
    // Rebuilt on every update: a ring or a weight table is only right for the list it was built from.
    this.balancer = createBalancer(options.balance, this.backends.all(), { random: this.random })
    this.keyOf = options.hashKey === undefined ? undefined : compileHashKey(options.hashKey)
    return diff
  }

  /** The servers as the balancer sees them: each one named for DNS replaced by its addresses. */
  private expand (servers: readonly ServerOptions[]): readonly ServerOptions[] {
    if (!servers.some(s => s.resolve === true)) return servers
    return servers.flatMap(s => s.resolve === true ? this.resolved.get(s.id) ?? [s] : [s])
  }

  /** Each server's pool, by its origin and this group's TLS settings (a reload may change them). */
  private keyPools (): void {
    for (const b of this.backends.all()) {
      b.poolKey = poolKey(b.origin, this.options.tls, { proxyProtocol: this.options.proxyProtocol, hostname: b.hostname })
      b.proxyProtocol = this.options.proxyProtocol
    }
  }
}

function withoutTried (servers: readonly Backend[], tried?: readonly Backend[]): readonly Backend[] {
  if (tried === undefined || tried.length === 0) return servers
  return servers.filter(s => !tried.includes(s))
}
