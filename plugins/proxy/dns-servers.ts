import type { FastifyInstance } from 'fastify'
import type { NormalizedConfig } from '../../lib/config'
import { createLookup } from '../../lib/upstreams/dns-lookup'
import { DnsServers } from '../../lib/upstreams/dns-servers'

export interface DnsServersPluginOptions {
  config: NormalizedConfig
}

/**
 * Servers from DNS (`resolve`; lib/upstreams/dns-servers.ts) for the groups in the registry,
 * following its reloads and runtime changes. The first answer for each name is awaited here,
 * so that the gateway starts listening with the addresses, not with the bare names.
 * `dns.servers` is read at start: changing it takes a restart.
 */
export default async function dnsServers (fastify: FastifyInstance, opts: DnsServersPluginOptions) {
  const dns = new DnsServers(fastify.gatehouse.registry, {
    lookup: createLookup(opts.config.dns.servers),
    drainTimeout: () => fastify.gatehouse.config.drainTimeout,
    log: fastify.log
  })
  await dns.start()
  fastify.addHook('onClose', async () => { dns.close() })
}
