import type { Readable } from 'node:stream'

/*
 * What the body parser (plugins/proxy/request-body.ts) hands on, and what an answer's payload
 * is: absent, held whole (a Buffer or a string), or a stream. Failover asks whether a body can
 * be sent again; the send timeout and compression whether an answer streams.
 */

/** A body that can be sent again: absent, or held whole in memory. */
export function isReplayable (body: unknown): boolean {
  return body === undefined || body === null || Buffer.isBuffer(body) || typeof body === 'string'
}

export function isStream (body: unknown): body is Readable {
  return typeof (body as Readable | undefined)?.pipe === 'function'
}

/** A streamed body no attempt has started to read, so it can still go to another server. */
export function isUnread (body: unknown): boolean {
  return isStream(body) && !body.destroyed && !body.readableDidRead
}

// Bodies the parser held whole but hands on as a stream (past `retryBodyLimit`, within
// `limits.requestBuffer`): the bytes are in memory anyway, and a copy of the request
// (lib/mirror/) may send them without reading the stream the backend reads.
const wholeBodies = new WeakMap<Readable, Buffer>()

/** Remembers that `stream` carries exactly `body`, held whole. */
export function markHeldWhole (stream: Readable, body: Buffer): void {
  wholeBodies.set(stream, body)
}

/** The whole body behind a request body: itself when held, the held bytes of a marked stream, else undefined. */
export function heldWhole (body: unknown): Buffer | undefined {
  if (Buffer.isBuffer(body)) return body
  if (typeof body === 'string') return Buffer.from(body)
  return isStream(body) ? wholeBodies.get(body) : undefined
}
