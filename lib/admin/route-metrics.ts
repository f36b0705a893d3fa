import { Counter, type Registry } from 'prom-client'
import type { RouteFigures } from './route-figures'
import { LATENCY_BUCKETS } from './latency-histogram'

type Labels = Record<string, string>

/**
 * The metrics with a `route` label: gatehouse_requests_total and gatehouse_request_duration_seconds
 * by upstream and route, and gatehouse_grpc_responses_total. Read at scrape time from the
 * figures each route keeps (lib/admin/route-figures.ts). Their series are bounded by the
 * config: routes × the groups they send to (× 5 status classes, 16 buckets, or 18 gRPC statuses).
 */
export function addRouteMetrics (registry: Registry, routes: () => readonly RouteFigures[], exists: (upstream: string) => boolean): void {
  new Counter({
    name: 'gatehouse_requests_total',
    help: 'Requests answered, by upstream group, route (its name, or its index) and status class.',
    labelNames: ['upstream', 'route', 'status'],
    registers: [registry],
    collect () {
      this.reset()
      for (const r of routes()) {
        for (const [upstream, c] of r.counts(exists)) {
          for (let i = 1; i < c.responses.length; i++) this.inc({ upstream, route: r.label, status: `${i}xx` }, c.responses[i])
        }
      }
    }
  })
  new Counter({
    name: 'gatehouse_grpc_responses_total',
    help: 'gRPC calls answered, by upstream group, route and grpc-status (0-16; "invalid" for a call that ended without a valid one).',
    labelNames: ['upstream', 'route', 'grpc_status'],
    registers: [registry],
    collect () {
      this.reset()
      for (const r of routes()) {
        for (const [upstream, c] of r.counts(exists)) {
          for (const [status, n] of c.grpc) this.inc({ upstream, route: r.label, grpc_status: status }, n)
        }
      }
    }
  })
  registry.registerMetric(durationHistogram(routes, exists) as never)
}

/**
 * gatehouse_request_duration_seconds, per upstream and route, from the plain counters each
 * route keeps: prom-client's Histogram would hash the labels of every request. An object with
 * `name` and `get()` is what prom-client's Registry formats.
 */
function durationHistogram (routes: () => readonly RouteFigures[], exists: (upstream: string) => boolean) {
  const name = 'gatehouse_request_duration_seconds'
  const help = 'Time from the request to the end of the answer, per upstream group and route, as in the access log.'
  const bounds = [...LATENCY_BUCKETS.map(String), '+Inf']
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset () {},
    get () {
      const values: Array<{ metricName: string, labels: Labels, value: number }> = []
      for (const r of routes()) {
        for (const [upstream, c] of r.counts(exists)) {
          const h = c.latency
          h.cumulative().forEach((value, i) => values.push({ metricName: `${name}_bucket`, labels: { upstream, route: r.label, le: bounds[i] }, value }))
          values.push({ metricName: `${name}_sum`, labels: { upstream, route: r.label }, value: h.sum / 1000 })
          values.push({ metricName: `${name}_count`, labels: { upstream, route: r.label }, value: h.count })
        }
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values }
    }
  }
}
