import type { IncomingMessage } from 'node:http'

const kHead = Symbol('gatehouse.upgradeHead')

type UpgradeRequest = IncomingMessage & { [kHead]?: Buffer }

/**
 * Node hands an Upgrade request to the server's 'upgrade' listeners with the first bytes
 * after its head; the WebSocket plugin marks the request with them before routing it, so
 * that the route can tell an upgrade from a plain request.
 */
export function markUpgrade (raw: IncomingMessage, head: Buffer): void {
  (raw as UpgradeRequest)[kHead] = head
}

/** Whether a raw request came in through the server's 'upgrade' event and wants its connection. */
export function isUpgrade (raw: IncomingMessage): boolean {
  return (raw as UpgradeRequest)[kHead] !== undefined
}

/** The bytes the client sent after the upgrade request's head (often none). */
export function upgradeHead (raw: IncomingMessage): Buffer | undefined {
  return (raw as UpgradeRequest)[kHead]
}

/**
 * Whether an upgrade asks for WebSocket, the one protocol Gatehouse tunnels: its Upgrade
 * header is the single token `websocket` (RFC 6455 §4.1). Anything else, h2c first of all,
 * is not tunnelled: h2c's upgrade is deprecated (RFC 9113 §3.1), and a backend that accepted
 * it would carry further requests on the tunnel past the routes and their filters.
 */
export function isWebSocketUpgrade (raw: IncomingMessage): boolean {
  const value = raw.headers.upgrade
  return value !== undefined && value.trim().toLowerCase() === 'websocket'
}

/**
 * Turns an upgrade Gatehouse does not tunnel into a plain request, as Envoy does with
 * `Upgrade: h2c`: Upgrade and HTTP2-Settings go, and so do their names in Connection.
 */
export function dropUpgrade (raw: IncomingMessage): void {
  const headers = raw.headers
  delete headers.upgrade
  delete headers['http2-settings']
  const connection = headers.connection
  if (connection === undefined) return
  const kept = connection.split(',').map(s => s.trim()).filter(s => s !== '' && !/^(?:upgrade|http2-settings)$/i.test(s))
  if (kept.length === 0) delete headers.connection
  else headers.connection = kept.join(', ')
}

/**
 * Whether a request declares a body. Node stops parsing at an upgrade's head and hands the
 * rest of the bytes over raw, so the body of an upgrade it turned into a plain request
 * would never be read: such a request is refused rather than forwarded without it.
 */
export function declaresBody (raw: IncomingMessage): boolean {
  const length = raw.headers['content-length']
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}
