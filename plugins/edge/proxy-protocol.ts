import type { FastifyInstance } from 'fastify'
import { IpList } from '../../lib/filters/ip-list'
import { acceptProxyProtocol, type ProxyRejection } from '../../lib/http/proxy-protocol-listener'
import { refusalsOf } from '../../lib/http/screen-request'

export interface ProxyProtocolPluginOptions {
  /** `listen.proxyProtocol.from`. */
  from: string[]
  /** `limits.headersTimeout`: the header, like a request head, must arrive within it. */
  headersTimeout: number
}

/** The codes connections closed for the PROXY protocol are counted under, in gatehouse_refused_before_routing_total. */
export const PROXY_PROTOCOL_CODES: Record<ProxyRejection, string> = {
  missing: 'GH_PROXY_PROTOCOL_MISSING',
  untrusted: 'GH_PROXY_PROTOCOL_UNTRUSTED',
  invalid: 'GH_PROXY_PROTOCOL_INVALID',
  timeout: 'GH_PROXY_PROTOCOL_TIMEOUT'
}

/**
 * `listen.proxyProtocol`: the gateway behind an L4 balancer (HAProxy in TCP mode, a cloud
 * network balancer) learns each connection's real client from the PROXY protocol header
 * (lib/http/proxy-protocol-listener.ts). Server-wide, like strict-http: it is about the
 * connection, before any request. Connections closed for it are counted with the refusals
 * before routing (strict-http's counts), so they reach the metrics without a counter of their own.
 */
export default async function proxyProtocol (fastify: FastifyInstance, opts: ProxyProtocolPluginOptions) {
  const refusals = refusalsOf(fastify.server)
  const { closeHeld } = acceptProxyProtocol(fastify.server, {
    from: new IpList(opts.from),
    headersTimeout: opts.headersTimeout,
    rejected (reason, detail, peer) {
      const code = PROXY_PROTOCOL_CODES[reason]
      if (refusals !== undefined) refusals.counts.set(code, (refusals.counts.get(code) ?? 0) + 1)
      fastify.log.info({ code, reason: detail, remoteAddress: peer }, 'connection closed: PROXY protocol')
    }
  })
  fastify.addHook('preClose', async () => { closeHeld() })
}
