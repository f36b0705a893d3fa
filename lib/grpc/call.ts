import type { IncomingHttpHeaders } from 'node:http'

/**
 * A gRPC call: `application/grpc`, alone or with a message format (`+proto`, `+json`), as the
 * gRPC over HTTP/2 spec names it. gRPC-Web (`application/grpc-web*`) is another protocol and is not one.
 */
export function isGrpc (headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type']
  if (type === undefined || !type.startsWith('application/grpc')) return false
  const rest = type.charCodeAt(16)
  // The end, `+format` or `;parameters`.
  return Number.isNaN(rest) || rest === 0x2b || rest === 0x3b
}

/**
 * Asks the backend for trailers where the client did: gRPC servers refuse a call without
 * `te: trailers` (the gRPC over HTTP/2 spec requires it), and TE is hop-by-hop, so the
 * gateway's own header rules drop it. Only toward an HTTP/2 backend, where it means exactly
 * this, as nginx's grpc_pass sends it.
 */
export function askForTrailers (out: Record<string, unknown>, client: IncomingHttpHeaders, http2Upstream: boolean): void {
  if (!http2Upstream || client.te !== 'trailers' || !isGrpc(client)) return
  out.te = 'trailers'
}
