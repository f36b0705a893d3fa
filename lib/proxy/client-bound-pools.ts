import { Pool } from 'undici'
import type { ClientConnection } from './client-connection'
import type { PoolOptions } from './origin-pools'
import { proxyProtocolConnector } from './proxy-protocol-connect'

type Connection = ClientConnection['connection']

/**
 * Backend connections that carry one client's address in their PROXY protocol header, so
 * they can never serve another client: a small pool per client connection and server,
 * made at its first request and destroyed when the client connection closes. This is
 * HAProxy's rule (a connection sent with send-proxy is private to its client, whatever
 * http-reuse says); keep-alive still holds between the requests of one client connection,
 * and the origin's admission (`connections`, `timeouts.queue`) bounds them all together.
 */
export class ClientBoundPools {
  private readonly byClient = new Map<Connection, Map<string, Pool>>()

  /** The pool of `key` for this client; undefined when the client connection is already gone. */
  pool (key: string, options: PoolOptions, client: ClientConnection): Pool | undefined {
    const conn = client.connection
    if (conn.destroyed) return undefined
    let pools = this.byClient.get(conn)
    if (pools === undefined) {
      const mine = new Map<string, Pool>()
      pools = mine
      this.byClient.set(conn, mine)
      conn.once('close', () => {
        this.byClient.delete(conn)
        for (const p of mine.values()) p.destroy().catch(() => {})
      })
    }
    let pool = pools.get(key)
    if (pool === undefined) {
      pool = new Pool(options.origin, {
        connections: options.connections,
        pipelining: 1,
        connect: proxyProtocolConnector({
          version: options.proxyProtocol ?? 'v1',
          client: client.endpoint,
          connectTimeout: options.connectTimeout,
          tls: options.tls,
          hostname: options.hostname
        })
      })
      pools.set(key, pool)
    }
    return pool
  }

  /** A server's pools of every client, closed once their requests finish (the server left, or its settings changed). */
  retire (key: string): void {
    for (const pools of this.byClient.values()) {
      const pool = pools.get(key)
      if (pool === undefined) continue
      pools.delete(key)
      pool.close().catch(() => {})
    }
  }

  /** How many client-bound connections pools exist (for tests and the curious). */
  get size (): number {
    let n = 0
    for (const pools of this.byClient.values()) n += pools.size
    return n
  }

  async close (): Promise<void> {
    const all = [...this.byClient.values()].flatMap(p => [...p.values()])
    this.byClient.clear()
    await Promise.all(all.map(p => p.destroy().catch(() => {})))
  }
}
