import { connect as netConnect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { errors, type buildConnector } from 'undici'
import type { UpstreamTls } from '../config/types'
import { encodeProxyHeader } from '../http/proxy-protocol-header'
import { tlsConnectOptions } from './tls-connect'

export type ProxyProtocolVersion = 'v1' | 'v2'

/** The client a backend connection speaks for: its address and port as the gateway sees them (after any PROXY header of its own). */
export interface ClientEndpoint {
  address: string
  port: number
}

export interface ProxyConnectOptions {
  version: ProxyProtocolVersion
  /** undefined: the gateway speaks for itself (health checks): LOCAL in v2, its own address in v1. */
  client: ClientEndpoint | undefined
  connectTimeout: number
  tls?: UpstreamTls
  /** The name the server's address was resolved from: the TLS server name when `tls.servername` is unset. */
  hostname?: string
}

type Connector = buildConnector.connector

/**
 * An undici connector that opens the TCP connection itself, writes the PROXY protocol header
 * as its first bytes, and only then starts TLS for an https:// origin: the header must come
 * before the ClientHello (a receiving balancer reads it from the raw connection), which
 * undici's own connector cannot do since it hands back a socket whose TLS has begun.
 */
export function proxyProtocolConnector (opts: ProxyConnectOptions): Connector {
  return (target, callback) => {
    const port = Number(target.port !== '' ? target.port : target.protocol === 'https:' ? 443 : 80)
    // URL keeps IPv6 literals bracketed; net.connect wants the bare address.
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1')
    let done = false
    const finish = (err: Error | null, socket?: Socket): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (err !== null) {
        raw.destroy()
        callback(err, null)
      } else {
        callback(null, socket as Socket)
      }
    }
    const raw = netConnect({ host, port })
    raw.setNoDelay(true)
    const timer = setTimeout(() => finish(new errors.ConnectTimeoutError('Connect Timeout Error')), opts.connectTimeout)
    timer.unref()
    raw.once('error', err => finish(err))
    raw.once('connect', () => {
      raw.write(headerFor(opts, raw))
      if (target.protocol !== 'https:') {
        finish(null, raw)
        return
      }
      const options = tlsConnectOptions(opts.tls)
      const servername = options.servername ?? opts.hostname ?? (isIP(host) === 0 ? host : undefined)
      // `host` is what the certificate is verified against when there is no server name (an address);
      // over a socket given to it, tls.connect would otherwise check "localhost".
      const secure = tlsConnect({ ...options, socket: raw, host: servername ?? host, servername, ALPNProtocols: ['http/1.1'] })
      secure.once('error', err => finish(err))
      secure.once('secureConnect', () => finish(null, secure))
    })
  }
}

/** The header for one new backend connection, from its own addresses once it is open. */
function headerFor (opts: ProxyConnectOptions, raw: Socket): Buffer {
  const destination = { address: raw.remoteAddress ?? '0.0.0.0', port: raw.remotePort ?? 0 }
  if (opts.client !== undefined) return encodeProxyHeader(opts.version, opts.client, destination)
  // v1 has no LOCAL command: the gateway names its own end of the connection (HAProxy's check-send-proxy does the same).
  const self = opts.version === 'v1' ? { address: raw.localAddress ?? '0.0.0.0', port: raw.localPort ?? 0 } : undefined
  return encodeProxyHeader(opts.version, self, destination)
}
