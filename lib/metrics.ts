import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { Upstream } from './upstream'
import { snapshot, type ServerSnapshot, type UpstreamSnapshot } from './upstream-snapshot'

type Labels = Record<string, string>
/** The samples of one metric, from the state at scrape time. */
type Samples = (upstreams: UpstreamSnapshot[]) => Iterable<[Labels, number]>

/**
 * Prometheus metrics for the upstream groups, built with prom-client on a registry of our
 * own (the host app's default registry is left alone). Every value is read from the live
 * counters when Prometheus scrapes, so proxying a request costs no metric bookkeeping.
 */
export function createMetrics (upstreams: () => readonly Upstream[], refused: () => ReadonlyMap<string, number> = () => new Map()): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' })

  const define = (Kind: typeof Counter | typeof Gauge, name: string, help: string, labelNames: string[], samples: Samples) => {
    new Kind({
      name,
      help,
      labelNames,
      registers: [registry],
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

  define(Counter, 'gatehouse_requests_total', 'Requests answered, by upstream group and status class.', ['upstream', 'status'], function * (state) {
    for (const u of state) for (const [status, n] of Object.entries(u.responses)) yield [{ upstream: u.name, status }, n]
  })
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
  })
  define(Counter, 'gatehouse_server_attempts_total', 'Attempts sent to a server.', ['upstream', 'server'], perServer(s => s.attempts))
  define(Counter, 'gatehouse_server_failures_total', 'Attempts to a server that failed: refused, reset or timed out.', ['upstream', 'server'], perServer(s => s.failedAttempts))
  define(Gauge, 'gatehouse_server_inflight', 'Requests in flight to a server (open WebSocket tunnels included).', ['upstream', 'server'], perServer(s => s.inflight))
  define(Gauge, 'gatehouse_server_ready', '1 when the server takes requests; 0 when unhealthy, ejected, on trial or draining.', ['upstream', 'server', 'state'],
    perServer(s => s.state === 'ready' ? 1 : 0, s => ({ state: s.state })))
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
  return registry
}
