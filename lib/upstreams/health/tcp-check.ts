import { connect } from 'node:net'
import type { Backend } from '../backend'
import type { HealthCheckOptions } from '../../config'
import { failureReason, type CheckResult } from './checker'
import { encodeProxyHeader } from '../../http/proxy-protocol-header'

/**
 * TCP check: passes when a connection to the server's host and port opens within
 * `timeout`. The connection is closed at once; nothing is sent.
 */
export async function tcpCheck (backend: Backend, options: HealthCheckOptions): Promise<CheckResult> {
  const url = new URL(backend.origin)
  // URL keeps IPv6 literals bracketed; net.connect wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(url.port)
  return await new Promise<CheckResult>(resolve => {
    const socket = connect({ host, port })
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), options.timeout)
    function finish (result: CheckResult): void {
      clearTimeout(timer)
      socket.removeAllListeners()
      // An error after we are done (e.g. a reset while closing) must not go unhandled.
      socket.on('error', () => {})
      socket.destroy()
      resolve(result)
    }
    socket.once('connect', () => {
      // A server that expects the PROXY protocol gets a header for the gateway itself first,
      // so that it logs a check rather than a broken connection.
      if (backend.proxyProtocol !== undefined) {
        const self = backend.proxyProtocol === 'v1' ? { address: socket.localAddress ?? '0.0.0.0', port: socket.localPort ?? 0 } : undefined
        socket.write(encodeProxyHeader(backend.proxyProtocol, self, { address: socket.remoteAddress ?? host, port }), () => finish({ ok: true, reason: 'connected' }))
        return
      }
      finish({ ok: true, reason: 'connected' })
    })
    socket.once('error', err => finish({ ok: false, reason: failureReason(err) }))
  })
}
