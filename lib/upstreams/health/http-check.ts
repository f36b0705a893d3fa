import { Agent, request, type Dispatcher } from 'undici'
import type { Backend } from '../backend'
import type { HealthCheckOptions, UpstreamTls } from '../../config'
import { tlsConnectOptions } from '../../proxy/tls-connect'
import { proxyProtocolConnector } from '../../proxy/proxy-protocol-connect'
import { failureReason, type Checker, type CheckResult } from './checker'

/**
 * HTTP check: GET `path` on the server itself (not through a route), with `host` as the
 * Host header when set. Passes when the response head arrives within `timeout` with a
 * status in `expectStatus`. The body is read and dropped either way so that the
 * connection can be reused or closed cleanly instead of lingering half-read.
 */
export function httpChecker (dispatcher: Dispatcher): Checker {
  // An upstream with `tls` gets an agent with its TLS settings, one per settings object (a
  // reload that changes them makes a new one). Probes close their connection (reset below),
  // so an agent left behind holds no socket and goes with its settings.
  // Likewise a server whose connections start with a PROXY header (the check sends one for
  // the gateway itself: LOCAL in v2), or one resolved from a name (checked under that name).
  const NO_TLS = {}
  const agents = new WeakMap<object, Map<string, Agent>>()
  const dispatcherFor = (tls: UpstreamTls | undefined, backend: Backend, timeout: number): Dispatcher => {
    if (tls === undefined && backend.proxyProtocol === undefined && backend.hostname === undefined) return dispatcher
    let byKind = agents.get(tls ?? NO_TLS)
    if (byKind === undefined) {
      byKind = new Map()
      agents.set(tls ?? NO_TLS, byKind)
    }
    const kind = `${backend.proxyProtocol ?? ''}|${backend.hostname ?? ''}`
    let agent = byKind.get(kind)
    if (agent === undefined) {
      const connect = backend.proxyProtocol !== undefined
        ? proxyProtocolConnector({ version: backend.proxyProtocol, client: undefined, connectTimeout: timeout, tls, hostname: backend.hostname })
        : { ...tlsConnectOptions(tls), ...(tls?.servername === undefined && backend.hostname !== undefined && { servername: backend.hostname }) }
      agent = new Agent({ pipelining: 1, connect })
      byKind.set(kind, agent)
    }
    return agent
  }
  return async function httpCheck (backend: Backend, options: HealthCheckOptions, tls?: UpstreamTls): Promise<CheckResult> {
    const headers: Record<string, string> = { 'user-agent': 'gatehouse-health-check' }
    if (options.host !== undefined) headers.host = options.host
    else if (backend.hostname !== undefined) headers.host = `${backend.hostname}:${new URL(backend.origin).port}`
    try {
      const res = await request(backend.origin + options.path, {
        method: 'GET',
        headers,
        dispatcher: dispatcherFor(tls, backend, options.timeout),
        // A fresh connection per probe, as nginx and HAProxy do: it tests that the server
        // still accepts connections, and a keep-alive socket the server is about to close
        // cannot turn into a spurious ECONNRESET failure.
        reset: true,
        headersTimeout: options.timeout,
        bodyTimeout: options.timeout,
        // The per-phase timeouts above do not cover connecting; this bounds the whole probe.
        signal: AbortSignal.timeout(options.timeout)
      })
      // Bounded by the signal too; a body that stalls must not fail a check whose status passed.
      await res.body.dump().catch(() => {})
      const [lo, hi] = options.expectStatus
      return { ok: res.statusCode >= lo && res.statusCode <= hi, reason: `status ${res.statusCode}` }
    } catch (err) {
      return { ok: false, reason: failureReason(err) }
    }
  }
}
