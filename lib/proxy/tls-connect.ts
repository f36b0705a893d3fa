import { rootCertificates, type ConnectionOptions } from 'node:tls'
import type { UpstreamTls } from '../config/types'

/**
 * tls.connect options for an upstream's `tls`, for its pools and its health checks alike.
 * Node's `ca` replaces the system store rather than adding to it, so a private CA is given
 * together with Node's bundled roots: `ca` adds trust, as the README says, and never removes it.
 */
export function tlsConnectOptions (tls: UpstreamTls | undefined): ConnectionOptions {
  if (tls === undefined) return {}
  const out: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized }
  if (tls.ca !== undefined) out.ca = [...rootCertificates, tls.ca]
  if (tls.cert !== undefined) out.cert = tls.cert
  if (tls.key !== undefined) out.key = tls.key
  if (tls.servername !== undefined) out.servername = tls.servername
  return out
}
