import { createSecureContext, type SecureContext } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import type { FrontTls, ListenOptions } from '../../lib/config/types'

interface TlsServer {
  setSecureContext (options: object): void
  addContext (hostname: string, context: SecureContext): void
  on (event: 'tlsClientError', listener: (err: Error & { code?: string }, socket: { remoteAddress?: string }) => void): void
  removeListener (event: string, listener: (...args: any[]) => void): void
}

export interface FrontTlsOptions {
  listen: ListenOptions
}

/**
 * The listener's certificates: SNI contexts on the server, rotation on reload, and
 * handshake failures logged at debug (a scanner's or an old client's, not ours to warn about;
 * no request was made, so nothing reaches a backend).
 *
 * SNI uses Node's own contexts (server.addContext), in which the most recently added match wins:
 * wildcards are added before exact names, so an exact name beats a wildcard, and a name with no
 * match gets the default certificate. A rotation adds the whole set again in that order, and a
 * name a reload removed gets the default certificate; setSecureContext swaps the default. Both
 * apply to new handshakes only: open connections keep the certificate they started with.
 * Node compares server names case-sensitively; browsers and curl send them lowercase, and the
 * config's names are lowercased at load.
 */
export default async function frontTls (fastify: FastifyInstance, opts: FrontTlsOptions) {
  let current = opts.listen.tls
  if (current === undefined) return
  const server = fastify.server as unknown as TlsServer
  const sniNames = new Set<string>()
  // The default certificate is already the server's (lib/http/server-options.ts); only SNI is added now.
  install(server, current, sniNames, false)

  const onTlsError = (err: Error & { code?: string }, socket: { remoteAddress?: string }) => {
    fastify.log.debug({ code: err.code, error: err.message, remoteAddress: socket.remoteAddress }, 'TLS handshake with a client failed')
  }
  server.on('tlsClientError', onTlsError)
  fastify.addHook('onClose', async () => { server.removeListener('tlsClientError', onTlsError) })

  // Reload (SIGHUP, the admin API, app.gatehouse.reload) validates the new config first, which
  // reads every certificate file: a missing, unreadable or mismatched one refuses the reload by
  // name, and these certificates keep serving. Only a config that passed gets here.
  const gatehouse = fastify.gatehouse
  const reload = gatehouse.reload
  gatehouse.reload = function reloadWithCertificates (input) {
    const summary = reload(input)
    const next: ListenOptions = gatehouse.config.listen
    if (next.http2 !== opts.listen.http2 || next.redirectHttp !== opts.listen.redirectHttp || next.tls === undefined) {
      fastify.log.warn('listen.http2, listen.redirectHttp and turning listen.tls on or off apply at the next start')
    }
    if (next.tls !== undefined && pemOf(next.tls) !== pemOf(current as FrontTls)) {
      install(server, next.tls, sniNames, true)
      current = next.tls
      fastify.log.info({ cert: next.tls.certFile, sni: [...next.tls.sni.keys()] }, 'certificates rotated')
    }
    return summary
  }
}

function install (server: TlsServer, tls: FrontTls, sniNames: Set<string>, swapDefault: boolean): void {
  const contexts = new Map<string, SecureContext>()
  // Built first, so that a context Node refuses changes nothing.
  for (const [name, pair] of tls.sni) contexts.set(name, createSecureContext({ cert: pair.cert, key: pair.key, minVersion: tls.minVersion }))
  const fallback = createSecureContext({ cert: tls.cert, key: tls.key, minVersion: tls.minVersion })
  if (swapDefault) server.setSecureContext({ cert: tls.cert, key: tls.key, minVersion: tls.minVersion })
  for (const name of sniNames) if (!contexts.has(name)) server.addContext(name, fallback)
  const ordered = [...contexts].sort(([a], [b]) => Number(b.startsWith('*.')) - Number(a.startsWith('*.')))
  for (const [name, context] of ordered) {
    server.addContext(name, context)
    sniNames.add(name)
  }
}

function pemOf (tls: FrontTls): string {
  return JSON.stringify([tls.cert, tls.key, tls.minVersion, [...tls.sni].map(([n, p]) => [n, p.cert, p.key])])
}
