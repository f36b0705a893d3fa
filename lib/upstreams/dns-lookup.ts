import { Resolver, lookup } from 'node:dns/promises'
import { DNS_QUERY_TIMEOUT, DNS_QUERY_TRIES } from '../config/defaults'

export interface Addresses {
  /** The name's addresses, IPv4 then IPv6, each once, sorted (so that a change is a change of set). */
  addresses: string[]
  /** The shortest TTL among the records, in seconds; undefined when the answer had none (the system's getaddrinfo). */
  ttl: number | undefined
}

export type LookupFn = (name: string) => Promise<Addresses>

/** Codes that say the name has no record of one type, not that the lookup failed. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND'])

/**
 * A/AAAA lookups with their TTLs, as nginx's `resolver` and HAProxy's `resolvers` ask a DNS
 * server directly: node:dns's Resolver, pointed at `servers` (`dns.servers`) when given.
 * Without them the system's servers are asked, and a name they do not know is then looked up
 * through getaddrinfo too (so /etc/hosts names work, with no TTL: resolveInterval applies).
 */
export function createLookup (servers: readonly string[]): LookupFn {
  const resolver = new Resolver({ timeout: DNS_QUERY_TIMEOUT, tries: DNS_QUERY_TRIES })
  if (servers.length > 0) resolver.setServers([...servers])
  const system = servers.length === 0
  return async function resolve (name: string): Promise<Addresses> {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(name, { ttl: true }), resolver.resolve6(name, { ttl: true })])
    const records = [v4, v6].flatMap(r => r.status === 'fulfilled' ? r.value : [])
    if (records.length > 0) {
      return {
        addresses: [...new Set(records.map(r => r.address))].sort(byFamily),
        ttl: Math.min(...records.map(r => r.ttl))
      }
    }
    const failure = [v4, v6].find(r => r.status === 'rejected' && !NO_RECORDS.has((r.reason as NodeJS.ErrnoException).code ?? ''))
    if (failure === undefined && system) {
      const found = await lookup(name, { all: true })
      if (found.length > 0) return { addresses: [...new Set(found.map(a => a.address))].sort(byFamily), ttl: undefined }
    }
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason
    throw Object.assign(new Error(`${name} has no A or AAAA record`), { code: 'ENODATA' })
  }
}

function byFamily (a: string, b: string): number {
  const fa = a.includes(':') ? 1 : 0
  const fb = b.includes(':') ? 1 : 0
  return fa !== fb ? fa - fb : a < b ? -1 : a > b ? 1 : 0
}
