import type { ClientEndpoint } from './proxy-protocol-connect'

/** A client connection as far as backend connections bound to it care: who it is, and when it ends. */
export interface ClientConnection {
  /** The TCP connection (HTTP/1.1) or the HTTP/2 session: one per client connection, for every request on it. */
  connection: {
    readonly destroyed: boolean
    once (event: 'close', listener: () => void): unknown
  }
  endpoint: ClientEndpoint
}

interface RequestLike {
  ip?: string
  raw?: {
    socket?: ClientConnection['connection'] & { remotePort?: number }
    stream?: { session?: ClientConnection['connection'] & { socket?: { remotePort?: number } } }
  }
}

/**
 * The client connection of a Fastify request. Over HTTP/2 every request has a socket of its
 * own (a proxy object per stream), so the session is what stands for the connection. The
 * address is request.ip: the PROXY protocol's client where a balancer sent one.
 */
export function clientConnectionOf (request: unknown): ClientConnection | undefined {
  const req = request as RequestLike
  const raw = req.raw
  if (raw === undefined || req.ip === undefined) return undefined
  const session = raw.stream?.session
  const connection = session ?? raw.socket
  if (connection === undefined) return undefined
  const port = session !== undefined ? session.socket?.remotePort : raw.socket?.remotePort
  return { connection, endpoint: { address: req.ip, port: port ?? 0 } }
}
