import { createHash } from 'node:crypto'
import type { UpstreamTls } from '../config/types'

/**
 * Which connection pool a server's requests go to: its origin, and for an https:// origin its
 * TLS settings too. A connection is made with one SNI name and one client certificate, so one
 * backend address that two groups reach with different `tls` (virtual hosts behind one address,
 * a client certificate per tenant) needs a pool per setting, as nginx keys its upstream SSL
 * sessions and Envoy its clusters' transport sockets. Groups with the same settings share one.
 */
export function poolKey (origin: string, tls: UpstreamTls | undefined, conn: PoolConnectKey = {}): string {
  // A connection that starts with a PROXY header, or one made to an address resolved from a
  // name (whose TLS name and Host are that name), is no connection for a server without them.
  const suffix = (conn.proxyProtocol === undefined ? '' : `+proxy-${conn.proxyProtocol}`) + (conn.hostname === undefined ? '' : `+name-${conn.hostname}`)
  if (tls === undefined || !origin.startsWith('https:')) return origin + suffix
  // A digest, not the settings themselves: they hold PEM text, a client key among it.
  const digest = createHash('sha256').update(JSON.stringify([tls.servername, tls.rejectUnauthorized, tls.ca, tls.cert, tls.key])).digest('base64url')
  return `${origin}#${digest.slice(0, 22)}${suffix}`
}

/** What besides the origin and TLS settings makes a connection one server's and not another's. */
export interface PoolConnectKey {
  proxyProtocol?: 'v1' | 'v2'
  /** The host name the origin's address was resolved from (servers from DNS). */
  hostname?: string
}

/**
 * The pool key travels from the proxy to the pools beside the headers, as the request target
 * does (lib/proxy/upstream-target.ts): reply-from hands OriginPools only a URL origin, which cannot
 * carry it. undici reads headers with Object.keys, so the symbol itself is never sent.
 */
const kPool = Symbol('gatehouse.poolKey')

type Carrier = Record<string | symbol, unknown>

export function carryPoolKey (headers: object, key: string): void {
  (headers as Carrier)[kPool] = key
}

/** The pool key carried in a request's headers, else its origin (the key of a server without tls). */
export function carriedPoolKey (headers: unknown, origin: string): string {
  const key = (headers as Carrier | null | undefined)?.[kPool]
  return typeof key === 'string' ? key : origin
}
