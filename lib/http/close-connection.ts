
/**
 * Asks for the connection to close after this answer: `Connection: close` over HTTP/1.1.
 * HTTP/2 has no such header (RFC 9113 §8.2.2: connection-specific fields MUST NOT be sent;
 * Node drops them with a process warning) and needs none: a stream ends alone, and an unread
 * request body is reset with the stream rather than left on a shared connection.
 */
// Structural, so that every reply type (reply-from's hooks type theirs for any raw server) fits.
interface AnyReply {
  request: { raw: { httpVersionMajor: number } }
  header (name: string, value: string): unknown
}

export function closeConnection (reply: AnyReply): void {
  if (reply.request.raw.httpVersionMajor < 2) reply.header('connection', 'close')
}

interface RawRequest {
  complete: boolean
  headers: { 'content-length'?: string, 'transfer-encoding'?: string }
}

/**
 * Whether part of the request body has yet to arrive. `complete` alone is not it: an answer
 * given synchronously (a cache hit, a redirect) runs before Node's parser has marked even a
 * bodyless GET complete, and closing on that ended every such keep-alive connection. A request
 * has a body only when it says so (RFC 9112 §6.3), with Content-Length or Transfer-Encoding.
 */
export function bodyPending (raw: RawRequest): boolean {
  if (raw.complete) return false
  const { 'content-length': length, 'transfer-encoding': coding } = raw.headers
  return coding !== undefined || (length !== undefined && length !== '0')
}
