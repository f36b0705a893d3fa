// Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message: a proxy
// must not pass them on. Proxy-* ones are credentials and state meant for this proxy.
// Expect is answered by Node's server already (100 Continue), and undici refuses to send it.
// HTTP2-Settings belongs to an h2c upgrade of one connection (RFC 9113 §3.1: deprecated), even
// when a client forgets to name it in Connection.
const DROPPED = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings'])

export type Headers = Record<string, string | string[] | number | undefined>

/**
 * A copy of `headers` without the hop-by-hop ones and those that Connection names. Copying
 * into a fresh object beats deleting in place: deletes turn V8's fast object into a
 * dictionary, which every later reader of the headers pays for (measured: 5× per call).
 */
export function withoutHopByHop (headers: Headers): Headers {
  const connection = headers.connection
  // `keep-alive`, what nearly every backend answer says, names only a header DROPPED has already.
  const named = connection === undefined || connection === 'keep-alive' ? undefined : connectionNames(connection)
  const out: Headers = {}
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined || DROPPED.has(name) || name.startsWith('proxy-')) continue
    if (named !== undefined && named.has(name)) continue
    out[name] = value
  }
  return out
}

function connectionNames (value: string | string[] | number): Set<string> {
  const names = new Set<string>()
  for (const part of String(value).split(',')) {
    const name = part.trim().toLowerCase()
    if (name !== '') names.add(name)
  }
  return names
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
  return addForwarded(withoutHopByHop(headers), client.ip, client.protocol, client.host, client.requestId, preserveHost)
}

/**
 * forwardRequestHeaders on `headers` itself, for a caller that owns the object and hands it
 * to undici, which skips a field whose value is undefined: the hop-by-hop fields are set to
 * undefined, neither deleted (a delete turns the object into a dictionary) nor copied away
 * (one object of every request header less per request). The client's side comes as
 * arguments, not as an object made for the call.
 */
export function forwardRequestHeadersInPlace (headers: Headers, ip: string, protocol: 'http' | 'https', host: string | undefined, requestId: string, preserveHost: boolean): Headers {
  const connection = headers.connection
  const named = connection === undefined || connection === 'keep-alive' ? undefined : connectionNames(connection)
  for (const name in headers) {
    if (headers[name] === undefined) continue
    if (DROPPED.has(name) || name.startsWith('proxy-') || (named !== undefined && named.has(name))) headers[name] = undefined
  }
  return addForwarded(headers, ip, protocol, host, requestId, preserveHost)
}

function addForwarded (out: Headers, ip: string, protocol: 'http' | 'https', host: string | undefined, requestId: string, preserveHost: boolean): Headers {
  const xff = out['x-forwarded-for']
  out['x-forwarded-for'] = xff === undefined || xff === '' ? ip : `${String(xff)}, ${ip}`
  out['x-forwarded-proto'] = protocol
  if (host !== undefined) {
    out['x-forwarded-host'] = host
    if (preserveHost) out.host = host
  }
  out['x-request-id'] = requestId
  return out
}
