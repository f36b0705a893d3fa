// Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message: a proxy
// must not pass them on. Proxy-* ones are credentials and state meant for this proxy.
const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization']

type Headers = Record<string, string | string[] | number | undefined>

/** Drops the hop-by-hop headers and every header that Connection names, in place. */
export function stripHopByHop (headers: Headers): Headers {
  const connection = headers.connection
  if (connection !== undefined) {
    for (const name of String(connection).split(',')) {
      const trimmed = name.trim().toLowerCase()
      if (trimmed !== '') delete headers[trimmed]
    }
  }
  for (const name of HOP_BY_HOP) {
    if (headers[name] !== undefined) delete headers[name]
  }
  for (const name in headers) {
    if (name.charCodeAt(0) === 112 /* p */ && name.startsWith('proxy-')) delete headers[name]
  }
  return headers
}

export interface ClientSide {
  ip: string
  protocol: 'http' | 'https'
  host: string | undefined
  requestId: string
}

/**
 * The request headers a backend sees: the client's, less the hop-by-hop ones, with the
 * X-Forwarded-* set as nginx's usual proxy_set_header block does (the client address
 * appended to X-Forwarded-For, proto and host set from this hop) and the original Host
 * kept unless the upstream asks for the backend's own.
 */
export function forwardRequestHeaders (headers: Headers, client: ClientSide, preserveHost: boolean): Headers {
  stripHopByHop(headers)
  // Node's server already answered "100 Continue" to the client; undici refuses to send Expect.
  if (headers.expect !== undefined) delete headers.expect
  const xff = headers['x-forwarded-for']
  headers['x-forwarded-for'] = xff === undefined || xff === '' ? client.ip : `${String(xff)}, ${client.ip}`
  headers['x-forwarded-proto'] = client.protocol
  if (client.host !== undefined) {
    headers['x-forwarded-host'] = client.host
    if (preserveHost) headers.host = client.host
  }
  headers['x-request-id'] = client.requestId
  return headers
}
