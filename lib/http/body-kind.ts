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
