import ipaddr from 'ipaddr.js'

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

/**
 * One entry of an `allow` or `deny` list as a range: a CIDR (`10.0.0.0/8`, `2001:db8::/32`)
 * or a single address. IPv4 is accepted only in its four-part decimal form (`10.1` or
 * `0x0a.0.0.1` are valid to inet_aton, and would surprise whoever reads the config), and an
 * IPv4-mapped IPv6 entry (`::ffff:10.0.0.0/104`) is kept as the IPv4 range it names, since
 * that is how client addresses are compared. Undefined when the entry is neither.
 */
export function parseRange (entry: string): Range | undefined {
  const slash = entry.indexOf('/')
  const address = slash === -1 ? entry : entry.slice(0, slash)
  const bits = slash === -1 ? undefined : entry.slice(slash + 1)
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined
  let ip: ipaddr.IPv4 | ipaddr.IPv6
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) ip = ipaddr.IPv4.parse(address)
  else if (ipaddr.IPv6.isValid(address) && !address.includes('%')) ip = ipaddr.IPv6.parse(address)
  else return undefined
  const max = ip.kind() === 'ipv4' ? 32 : 128
  let prefix = bits === undefined ? max : Number(bits)
  if (prefix > max) return undefined
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress() && prefix >= 96) {
    ip = ip.toIPv4Address()
    prefix -= 96
  }
  return [ip, prefix]
}

/** A compiled address list; `has` answers for a client address as Node reports it (request.ip). */
export class IpList {
  // Kept apart by family: an address only ever matches ranges of its own.
  private readonly v4: Array<[ipaddr.IPv4, number]> = []
  private readonly v6: Array<[ipaddr.IPv6, number]> = []

  constructor (entries: readonly string[]) {
    for (const entry of entries) {
      const range = parseRange(entry)
      // The config was checked with parseRange at boot (lib/config/normalize/filters.ts).
      if (range === undefined) throw new Error(`not an IP address or CIDR: ${entry}`)
      if (range[0] instanceof ipaddr.IPv4) this.v4.push([range[0], range[1]])
      else this.v6.push([range[0], range[1]])
    }
  }

  get size (): number {
    return this.v4.length + this.v6.length
  }

  has (address: string): boolean {
    const ip = clientAddress(address)
    if (ip === undefined) return false
    if (ip instanceof ipaddr.IPv4) return this.v4.some(range => ip.match(range))
    return this.v6.some(range => ip.match(range))
  }
}

/**
 * A client address, with an IPv4-mapped IPv6 one (`::ffff:10.1.2.3`, what a dual-stack
 * listener reports for an IPv4 client) turned into IPv4 so that IPv4 ranges match it.
 */
function clientAddress (address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.process(address)
  } catch {
    return undefined
  }
}

/**
 * The address filter: deny wins over allow; an empty allow list lets every address not
 * denied through, as nginx's allow/deny with no `deny all` does.
 */
export function addressAllowed (address: string, allow: IpList, deny: IpList): boolean {
  if (deny.size > 0 && deny.has(address)) return false
  return allow.size === 0 || allow.has(address)
}
