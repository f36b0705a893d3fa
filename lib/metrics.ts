import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { Upstream } from './upstream'
import { snapshot } from './upstream-snapshot'

/**
 * Prometheus metrics for the upstream groups, built with prom-client on a registry of our
 * own (the host app's default registry is left alone). Every value is read from the live
 * counters when Prometheus scrapes, so proxying a request costs no metric bookkeeping.
 */
export function createMetrics (upstreams: () => readonly Upstream[]): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' })

  const state = () => snapshot(upstreams(), Date.now())

  new Counter({
    name: 'gatehouse_requests_total',
    help: 'Requests answered, by upstream group and status class.',
    labelNames: ['upstream', 'status'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const u of state()) for (const [status, n] of Object.entries(u.responses)) this.inc({ upstream: u.name, status }, n)
    }
  })
  new Counter({
    name: 'gatehouse_retries_total',
    help: 'Attempts sent again to another server after a failure.',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const u of state()) this.inc({ upstream: u.name }, u.retries)
    }
  })
  new Counter({
    name: 'gatehouse_server_attempts_total',
    help: 'Attempts sent to a server.',
    labelNames: ['upstream', 'server'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const u of state()) for (const s of u.servers) this.inc({ upstream: u.name, server: s.id }, s.attempts)
    }
  })
  new Counter({
    name: 'gatehouse_server_failures_total',
    help: 'Attempts to a server that failed: refused, reset or timed out.',
    labelNames: ['upstream', 'server'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const u of state()) for (const s of u.servers) this.inc({ upstream: u.name, server: s.id }, s.failedAttempts)
    }
  })
  new Gauge({
    name: 'gatehouse_server_inflight',
    help: 'Requests in flight to a server.',
    labelNames: ['upstream', 'server'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const u of state()) for (const s of u.servers) this.set({ upstream: u.name, server: s.id }, s.inflight)
    }
  })
  new Gauge({
    name: 'gatehouse_server_ready',
    help: '1 when the server takes requests; 0 when unhealthy, ejected, on trial or draining.',
    labelNames: ['upstream', 'server', 'state'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const u of state()) for (const s of u.servers) this.set({ upstream: u.name, server: s.id, state: s.state }, s.state === 'ready' ? 1 : 0)
    }
  })
  new Gauge({
    name: 'gatehouse_upstream_ready_servers',
    help: 'Servers of the group that take requests now.',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const u of state()) this.set({ upstream: u.name }, u.ready)
    }
  })
  return registry
}
