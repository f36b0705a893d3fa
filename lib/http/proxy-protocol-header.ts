import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'

// The PROXY protocol (HAProxy's spec, versions 1 and 2): the header an L4 balancer puts before
// a connection's first byte to say whose connection it is. Written here rather than taken from
// proxy-protocol-js: that package parses a buffer that already holds one whole header, while
// what a listener needs is the framing (is this the start of a header, is it complete yet, how
// many bytes does it take, is it too long), which is most of the work; the rest is a few
// dozen lines of the spec.

/** The 12 bytes every v2 header starts with. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
const V1_PREFIX = Buffer.from('PROXY ', 'latin1')
/** The spec's bound for a v1 line, CRLF included ("PROXY TCP6" with two full IPv6 addresses and ports). */
export const V1_MAX_LENGTH = 107
/**
 * A v2 header past this is refused as oversized. The address block is at most 216 bytes (two
 * unix paths); the rest is TLVs, of which balancers send a few (AWS's VPC endpoint id, a
 * unique id, TLS details): HAProxy bounds the whole by its buffer, far above what any sends.
 */
export const V2_MAX_LENGTH = 16 + 2048
const V2_FIXED = 16

export interface ProxyAddress {
  address: string
  port: number
  family: 'IPv4' | 'IPv6'
}

export type ProxyHeader =
  /** Not enough bytes yet to know. */
  | { kind: 'incomplete' }
  /** The bytes are no PROXY header at all (a client speaking HTTP or TLS first). */
  | { kind: 'none' }
  /** A header, but not one that may be accepted: malformed, oversized. */
  | { kind: 'invalid', reason: string }
  /**
   * A whole header of `length` bytes. `source` is the client it names; undefined for a
   * v2 LOCAL command or a v1 UNKNOWN (a balancer's own health check): the peer is the client.
   */
  | { kind: 'header', version: 1 | 2, length: number, source?: ProxyAddress, destination?: ProxyAddress }

/** Whether `buf` starts as a v1 or v2 header would, as far as its bytes go. */
function startsAs (buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length)
  return buf.subarray(0, n).equals(prefix.subarray(0, n))
}

/**
 * Reads the PROXY header at the start of `buf`, which holds what arrived so far. A caller
 * reads again while it is 'incomplete', and every other answer is final.
 */
export function parseProxyHeader (buf: Buffer): ProxyHeader {
  if (buf.length === 0) return { kind: 'incomplete' }
  if (startsAs(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? { kind: 'incomplete' } : parseV2(buf)
  if (startsAs(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? { kind: 'incomplete' } : parseV1(buf)
  return { kind: 'none' }
}

function parseV1 (buf: Buffer): ProxyHeader {
  const end = buf.indexOf('\r\n', 0, 'latin1')
  if (end === -1) {
    return buf.length >= V1_MAX_LENGTH ? { kind: 'invalid', reason: `v1 line longer than ${V1_MAX_LENGTH} bytes` } : { kind: 'incomplete' }
  }
  const length = end + 2
  if (length > V1_MAX_LENGTH) return { kind: 'invalid', reason: `v1 line longer than ${V1_MAX_LENGTH} bytes` }
  const parts = buf.toString('latin1', 0, end).split(' ')
  if (parts[1] === 'UNKNOWN') return { kind: 'header', version: 1, length }
  if (parts.length !== 6) return { kind: 'invalid', reason: 'v1 line is not "PROXY TCP4|TCP6 src dst sport dport"' }
  const [, proto, src, dst, sport, dport] = parts
  const family = proto === 'TCP4' ? 4 : proto === 'TCP6' ? 6 : 0
  if (family === 0) return { kind: 'invalid', reason: `v1 protocol "${proto}" is not TCP4, TCP6 or UNKNOWN` }
  const source = v1Address(src, sport, family)
  const destination = v1Address(dst, dport, family)
  if (source === undefined || destination === undefined) return { kind: 'invalid', reason: 'v1 address or port malformed' }
  return { kind: 'header', version: 1, length, source, destination }
}

function v1Address (address: string, port: string, family: 4 | 6): ProxyAddress | undefined {
  // The spec: ports in decimal without leading zeroes; addresses in their usual text form.
  if (!/^(0|[1-9]\d{0,4})$/.test(port) || Number(port) > 65535) return undefined
  if (isIP(address) !== family) return undefined
  if (family === 4 && !/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return undefined
  return { address, port: Number(port), family: family === 4 ? 'IPv4' : 'IPv6' }
}

function parseV2 (buf: Buffer): ProxyHeader {
  if (buf.length < V2_FIXED) return { kind: 'incomplete' }
  const verCmd = buf[12]
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: `v2 version ${verCmd >> 4} is not 2` }
  const command = verCmd & 0x0f
  if (command > 1) return { kind: 'invalid', reason: `v2 command ${command} is neither LOCAL nor PROXY` }
  const length = V2_FIXED + buf.readUInt16BE(14)
  if (length > V2_MAX_LENGTH) return { kind: 'invalid', reason: `v2 header of ${length} bytes is longer than ${V2_MAX_LENGTH}` }
  if (buf.length < length) return { kind: 'incomplete' }
  // LOCAL: the balancer speaking for itself (its health checks); the address block is ignored.
  if (command === 0) return { kind: 'header', version: 2, length }
  const family = buf[13] >> 4
  const transport = buf[13] & 0x0f
  if (transport > 2) return { kind: 'invalid', reason: `v2 transport ${transport} is unknown` }
  const body = buf.subarray(V2_FIXED, length)
  if (family === 1) {
    if (body.length < 12) return { kind: 'invalid', reason: 'v2 IPv4 address block shorter than 12 bytes' }
    return {
      kind: 'header',
      version: 2,
      length,
      source: { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8), family: 'IPv4' },
      destination: { address: [...body.subarray(4, 8)].join('.'), port: body.readUInt16BE(10), family: 'IPv4' }
    }
  }
  if (family === 2) {
    if (body.length < 36) return { kind: 'invalid', reason: 'v2 IPv6 address block shorter than 36 bytes' }
    return {
      kind: 'header',
      version: 2,
      length,
      source: { address: ipv6Text(body.subarray(0, 16)), port: body.readUInt16BE(32), family: 'IPv6' },
      destination: { address: ipv6Text(body.subarray(16, 32)), port: body.readUInt16BE(34), family: 'IPv6' }
    }
  }
  // AF_UNSPEC or AF_UNIX with PROXY: no address the gateway can use; the spec says to use the
  // real connection's, as for LOCAL.
  if (family === 0 || family === 3) return { kind: 'header', version: 2, length }
  return { kind: 'invalid', reason: `v2 address family ${family} is unknown` }
}

/** 16 bytes as Node writes an IPv6 address (RFC 5952, an IPv4-mapped one as ::ffff:a.b.c.d). */
function ipv6Text (b: Buffer): string {
  const ip = ipaddr.fromByteArray([...b]) as ipaddr.IPv6
  return ip.isIPv4MappedAddress() ? `::ffff:${ip.toIPv4Address().toString()}` : ip.toRFC5952String()
}

/** The address family a header is written with: an IPv4-mapped IPv6 client is written as IPv4. */
function plain (address: string): { address: string, family: 4 | 6 } {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  if (mapped !== null) return { address: mapped[1], family: 4 }
  return { address, family: isIP(address) === 6 ? 6 : 4 }
}

/**
 * The header to send before a backend connection's first byte. `source` undefined means the
 * gateway speaks for itself (its health checks): LOCAL in v2; in v1 the connection's own
 * addresses, which the caller passes as `local`.
 */
export function encodeProxyHeader (version: 'v1' | 'v2', source: { address: string, port: number } | undefined, destination: { address: string, port: number }): Buffer {
  if (version === 'v2' && source === undefined) {
    const out = Buffer.alloc(V2_FIXED)
    V2_SIGNATURE.copy(out)
    out[12] = 0x20
    out[13] = 0x00
    return out
  }
  const src = source ?? destination
  let s = plain(src.address)
  let d = plain(destination.address)
  // One family in a header: a client of one family to a backend of the other is written with both as IPv6.
  if (s.family !== d.family) {
    s = s.family === 4 ? { address: `::ffff:${s.address}`, family: 6 } : s
    d = d.family === 4 ? { address: `::ffff:${d.address}`, family: 6 } : d
  }
  if (version === 'v1') {
    return Buffer.from(`PROXY TCP${s.family} ${s.address} ${d.address} ${src.port} ${destination.port}\r\n`, 'latin1')
  }
  const v4 = s.family === 4
  const out = Buffer.alloc(V2_FIXED + (v4 ? 12 : 36))
  V2_SIGNATURE.copy(out)
  out[12] = 0x21
  out[13] = v4 ? 0x11 : 0x21
  out.writeUInt16BE(v4 ? 12 : 36, 14)
  const body = out.subarray(V2_FIXED)
  if (v4) {
    body.set(s.address.split('.').map(Number), 0)
    body.set(d.address.split('.').map(Number), 4)
    body.writeUInt16BE(src.port, 8)
    body.writeUInt16BE(destination.port, 10)
  } else {
    ipv6Bytes(s.address).copy(body, 0)
    ipv6Bytes(d.address).copy(body, 16)
    body.writeUInt16BE(src.port, 32)
    body.writeUInt16BE(destination.port, 34)
  }
  return out
}

function ipv6Bytes (address: string): Buffer {
  return Buffer.from(ipaddr.IPv6.parse(address).toByteArray())
}
