import type { RequestOptions } from 'node:http'
import type { Socket } from 'node:net'
import type { Backend } from '../upstreams/backend'
import type { UpstreamTls } from '../config/types'
import { proxyProtocolConnector, type ClientEndpoint } from './proxy-protocol-connect'

/**
 * What an upgrade request (a WebSocket tunnel) to `backend` needs beyond its origin, the same
 * as its pooled requests get: the name a resolved server's address came from as its TLS
 * server name, and for a group with `proxyProtocol` a connection of its own that starts
 * with the client's header (a tunnel is one client's connection anyway).
 */
export function tunnelConnectOptions (backend: Backend, client: ClientEndpoint | undefined, opts: { connectTimeout: number, tls?: UpstreamTls }): Partial<RequestOptions> & { servername?: string } {
  const out: Partial<RequestOptions> & { servername?: string } = {}
  if (backend.hostname !== undefined) out.servername = opts.tls?.servername ?? backend.hostname
  const version = backend.proxyProtocol
  if (version === undefined) return out
  const connect = proxyProtocolConnector({ version, client, connectTimeout: opts.connectTimeout, tls: opts.tls, hostname: backend.hostname })
  const url = new URL(backend.origin)
  // Node uses createConnection only when no agent is given (`agent: false` makes one of its own).
  ;(out as { agent?: undefined }).agent = undefined
  out.createConnection = ((_options: unknown, done: (err: Error | null, socket?: Socket) => void) => {
    connect({ hostname: url.hostname, host: url.host, protocol: url.protocol, port: url.port, servername: out.servername } as never, (err, socket) => {
      if (err !== null) done(err)
      else done(null, socket as Socket)
    })
    return undefined
  }) as unknown as RequestOptions['createConnection']
  return out
}

/** The Host a tunnel sends when the backend's own is wanted: a resolved server's name, not its address. */
export function backendHost (backend: Backend): string {
  const url = new URL(backend.origin)
  return backend.hostname === undefined ? url.host : `${backend.hostname}${url.port === '' ? '' : `:${url.port}`}`
}
