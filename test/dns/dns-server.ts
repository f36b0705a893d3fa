import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'

type Test = { teardown (fn: () => unknown): void }

export interface TestDns {
  /** "127.0.0.1:port", for dns.servers. */
  server: string
  /** Sets a name's records: IPv4 addresses as A, IPv6 as AAAA, with this TTL (seconds). */
  set (name: string, addresses: string[], ttl?: number): void
  /** While true every query gets SERVFAIL. */
  failing: boolean
  /** Queries answered so far, by name. */
  queries: Map<string, number>
}

/**
 * A DNS server of the test's own on 127.0.0.1 (UDP, RFC 1035 §4.1): enough of the protocol to
 * answer A and AAAA questions from a table the test changes while traffic runs. Unknown
 * names get NXDOMAIN; a name without records of the asked type, an empty NOERROR.
 */
export async function startDns (t: Test): Promise<TestDns> {
  const records = new Map<string, { addresses: string[], ttl: number }>()
  const socket = createSocket('udp4')
  const dns: TestDns = {
    server: '',
    failing: false,
    queries: new Map(),
    set (name, addresses, ttl = 1) { records.set(name.toLowerCase(), { addresses, ttl }) }
  }
  socket.on('message', (msg, rinfo) => {
    try {
      const reply = answer(msg, records, dns)
      if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address)
    } catch {
      // A query the test's resolver would never send: dropped.
    }
  })
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  dns.server = `127.0.0.1:${(socket.address() as AddressInfo).port}`
  t.teardown(() => socket.close())
  return dns
}

function answer (msg: Buffer, records: Map<string, { addresses: string[], ttl: number }>, dns: TestDns): Buffer | undefined {
  if (msg.length < 12 || (msg[2] & 0x80) !== 0) return undefined
  let at = 12
  const labels: string[] = []
  while (msg[at] !== 0) {
    const len = msg[at]
    labels.push(msg.toString('latin1', at + 1, at + 1 + len))
    at += 1 + len
  }
  at += 1
  const qtype = msg.readUInt16BE(at)
  const questionEnd = at + 4
  const name = labels.join('.').toLowerCase()
  dns.queries.set(name, (dns.queries.get(name) ?? 0) + 1)
  const entry = records.get(name)
  const rcode = dns.failing ? 2 : entry === undefined ? 3 : 0
  const wanted = entry === undefined || rcode !== 0 ? [] : entry.addresses.filter(a => (qtype === 1 && !a.includes(':')) || (qtype === 28 && a.includes(':')))
  const head = Buffer.alloc(12)
  msg.copy(head, 0, 0, 2)
  head.writeUInt16BE(0x8180 | rcode, 2)
  head.writeUInt16BE(1, 4)
  head.writeUInt16BE(wanted.length, 6)
  const answers = wanted.map(address => {
    const rdata = qtype === 1 ? Buffer.from(address.split('.').map(Number)) : ipv6(address)
    const rr = Buffer.alloc(12)
    rr.writeUInt16BE(0xc00c, 0)
    rr.writeUInt16BE(qtype, 2)
    rr.writeUInt16BE(1, 4)
    rr.writeUInt32BE(entry?.ttl ?? 1, 6)
    rr.writeUInt16BE(rdata.length, 10)
    return Buffer.concat([rr, rdata])
  })
  return Buffer.concat([head, msg.subarray(12, questionEnd), ...answers])
}

function ipv6 (address: string): Buffer {
  const [head, tail = ''] = address.split('::')
  const h = head === '' ? [] : head.split(':')
  const tl = tail === '' ? [] : tail.split(':')
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl] : h
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}
