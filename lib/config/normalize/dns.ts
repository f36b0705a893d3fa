import { isIP } from 'node:net'
import type { GatehouseConfig } from '../schema'
import type { NormalizedConfig } from '../types'
import { DEFAULT_DNS_SERVERS } from '../defaults'

/** `dns`: the servers node:dns's Resolver.setServers takes ("1.2.3.4", "1.2.3.4:53", "[2001:db8::1]:53"), each checked here. */
export function normalizeDns (dns: GatehouseConfig['dns'], problems: string[]): NormalizedConfig['dns'] {
  const servers = dns?.servers ?? DEFAULT_DNS_SERVERS
  servers.forEach((entry, i) => {
    if (!isDnsServer(entry)) problems.push(`dns.servers[${i}]: not an address or address:port such as "10.0.0.2", "10.0.0.2:53" or "[2001:db8::2]:53" (got ${JSON.stringify(entry)})`)
  })
  return { servers: [...servers] }
}

function isDnsServer (entry: string): boolean {
  if (isIP(entry) !== 0) return true
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(entry)
  if (m === null || Number(m[3]) < 1 || Number(m[3]) > 65535) return false
  return m[1] !== undefined ? isIP(m[1]) === 6 : isIP(m[2]) === 4
}
