import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { Upstream } from '../upstreams/upstream'
import { snapshot, SERVER_STATES, type ServerSnapshot, type UpstreamSnapshot } from './upstream-snapshot'
import { MIRROR_OUTCOMES, mirrorCountsOf } from '../mirror/counts'
import type { RouteFigures } from './route-figures'
import { addRouteMetrics } from './route-metrics'

type Labels = Record<string, string>
/** The samples of one metric, from the state at scrape time. */
type Samples = (upstreams: UpstreamSnapshot[]) => Iterable<[Labels, number]>

/**
 * Prometheus metrics for the upstream groups, built with prom-client on a registry of our
 * own (the host app's default registry is left alone). Every value is read from the live
 * counters when Prometheus scrapes, so proxying a request costs no metric bookkeeping.
 */
export function createMetrics (upstreams: () => readonly Upstream[], refused: () => ReadonlyMap<string, number> = () => new Map(), changes: () => Readonly<Record<string, number>> = () => ({}), routes: () => readonly RouteFigures[] = () => []): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' })

  // How GET /metrics under workers combines one metric of several workers (prom-client's
  // AggregatorRegistry): sums by default; a server's state is one verdict for the machine, not a count.
  const define = (Kind: typeof Counter | typeof Gauge, name: string, help: string, labelNames: string[], samples: Samples, aggregator?: 'max') => {
    new Kind({
      name,
      help,
      labelNames,
      registers: [registry],
      ...(aggregator !== undefined && { aggregator }),
      collect () {
        // Counters only go up, but these are copies of totals kept elsewhere: reset, then add the total.
        this.reset()
        for (const [labels, value] of samples(snapshot(upstreams(), Date.now()))) this.inc(labels, value)
      }
    })
  }
  const perServer = (value: (s: ServerSnapshot) => number, extra?: (s: ServerSnapshot) => Labels): Samples => function * (state) {
    for (const u of state) for (const s of u.servers) yield [{ upstream: u.name, server: s.id, ...extra?.(s) }, value(s)]
  }

  define(Counter, 'gatehouse_retries_total', 'Attempts sent again to another server after a failure.', ['upstream'], function * (state) {
    for (const u of state) yield [{ upstream: u.name }, u.retries]
  })
  define(Counter, 'gatehouse_queue_timeouts_total', 'Attempts that waited timeouts.queue for a free connection to a server and got none (answered 503 unless another server took them).', ['upstream'], function * (state) {
    for (const u of state) yield [{ upstream: u.name }, u.queueTimeouts]
  })
  define(Counter, 'gatehouse_refused_total', 'Requests a route filter refused without touching a backend, by upstream group and reason (ip, method, body-size, header, basic-auth).', ['upstream', 'reason'], function * (state) {
    for (const u of state) for (const [reason, n] of Object.entries(u.refused)) yield [{ upstream: u.name, reason }, n]
  })
  define(Gauge, 'gatehouse_upstream_ready_servers', 'Servers of the group that take requests now.', ['upstream'], function * (state) {
    for (const u of state) yield [{ upstream: u.name }, u.ready]
  }, 'max')
  define(Counter, 'gatehouse_server_attempts_total', 'Attempts sent to a server.', ['upstream', 'server'], perServer(s => s.attempts))
  define(Counter, 'gatehouse_server_failures_total', 'Attempts to a server that failed: refused, reset or timed out.', ['upstream', 'server'], perServer(s => s.failedAttempts))
  define(Gauge, 'gatehouse_server_inflight', 'Requests in flight to a server (open WebSocket tunnels included).', ['upstream', 'server'], perServer(s => s.inflight))
  // State is never a label of a series that comes and goes (a scraper would see series vanish
  // and reappear, and lose their history at each change): ready is 0/1, and
  // server_state has one series per possible state, each 0 or 1, all present at every scrape.
  define(Gauge, 'gatehouse_server_ready', '1 when the server takes requests; 0 when unhealthy, ejected, on trial, draining or in maint.', ['upstream', 'server'],
    perServer(s => s.state === 'ready' ? 1 : 0), 'max')
  define(Gauge, 'gatehouse_server_state', `1 for the state the server is in, 0 for the others (${SERVER_STATES.join(', ')}).`, ['upstream', 'server', 'state'], function * (state) {
    for (const u of state) for (const s of u.servers) for (const st of SERVER_STATES) yield [{ upstream: u.name, server: s.id, state: st }, s.state === st ? 1 : 0]
  }, 'max')
  // Health transitions and runtime changes, read from their counters at scrape time: the hot
  // path only increments a number, and prom-client sees it when Prometheus asks.
  new Counter({
    name: 'gatehouse_health_transitions_total',
    help: 'Health-check verdict changes of the servers of a group, by the state entered (healthy or unhealthy).',
    labelNames: ['upstream', 'to'],
    registers: [registry],
    collect () {
      this.reset()
      for (const u of upstreams()) for (const [to, n] of Object.entries(u.healthTransitions)) this.inc({ upstream: u.name, to }, n)
    }
  })
  new Counter({
    name: 'gatehouse_admin_changes_total',
    help: 'Servers changed through the admin API, by action (add, update, remove).',
    labelNames: ['action'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [action, n] of Object.entries(changes())) this.inc({ action }, n)
    }
  })
  // By route as well as upstream: requests, their latency, and gRPC statuses.
  addRouteMetrics(registry, routes, name => upstreams().some(u => u.name === name))
  // Not through define(): these have no upstream, and are not read from a snapshot.
  new Counter({
    name: 'gatehouse_refused_before_routing_total',
    help: 'Requests refused before routing (a malformed target, Host or framing), by error code.',
    labelNames: ['code'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [code, n] of refused()) this.inc({ code }, n)
    }
  })
  // Copies of requests to mirror groups (lib/mirror/), by what became of them; only groups
  // some route mirrors to have series, every outcome of them from the start.
  new Counter({
    name: 'gatehouse_mirror_requests_total',
    help: `Copies of requests for a mirror group, by outcome (${MIRROR_OUTCOMES.join(', ')}): sent ones end answered or failed; dropped were over maxInFlight or found no ready server, skipped had a body that could not be copied.`,
    labelNames: ['upstream', 'outcome'],
    registers: [registry],
    collect () {
      this.reset()
      for (const u of upstreams()) {
        const counts = mirrorCountsOf(u)
        if (counts !== undefined) for (const outcome of MIRROR_OUTCOMES) this.inc({ upstream: u.name, outcome }, counts[outcome])
      }
    }
  })
  return registry
}
