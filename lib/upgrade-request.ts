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
