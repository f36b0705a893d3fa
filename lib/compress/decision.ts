import type { CompressSettings } from '../config/types'

// mime-db is the table @fastify/compress consults too (the same copy); it ships JSON without
// types, and only `compressible` is read.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mimeDb = require('mime-db') as Record<string, { compressible?: boolean } | undefined>

/** A response field as the reply holds it. */
type Field = (name: string) => number | string | string[] | undefined

/**
 * Whether an answer is one to encode for a client that accepts a coding, decided once for a
 * backend's stream and a stored answer's buffer alike. `length` is the body's size when known:
 * a stream's content-length, a buffer's own size; unknown (chunked) counts as large.
 * Such an answer varies on Accept-Encoding, whether or not this client gets it encoded.
 */
export function encodable (status: number, field: Field, length: number | undefined, settings: CompressSettings): boolean {
  // No content (1xx, 204, 304), or a range of the unencoded bytes (206, Content-Range).
  if (status < 200 || status === 204 || status === 206 || status === 304) return false
  if (length !== undefined && (length === 0 || length < settings.threshold)) return false
  // Already encoded by the backend: passed on as is.
  const coding = field('content-encoding')
  if (coding !== undefined && String(coding).trim().toLowerCase() !== 'identity') return false
  if (field('content-range') !== undefined) return false
  // RFC 9110 §7.7: a proxy must not transform content the response marks no-transform.
  if (/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(String(field('cache-control') ?? ''))) return false
  const type = field('content-type')
  // Without a type there is no telling text from an image: left alone.
  return typeof type === 'string' && compressibleType(type, settings.types)
}

/**
 * Types worth encoding: the configured list, else text (but event streams), JSON and XML of
 * any kind, and what mime-db marks compressible (JavaScript, SVG, WASM, fonts, …). Unlike
 * @fastify/compress's own list, not application/octet-stream: a proxy cannot know that
 * arbitrary bytes are not an archive or a video already encoded.
 */
export function compressibleType (contentType: string, types: string[] | undefined): boolean {
  const type = contentType.split(';', 1)[0].trim().toLowerCase()
  // An encoder holds bytes back until it has enough; each event must reach the client when sent.
  if (type === 'text/event-stream') return false
  if (types !== undefined) return types.some(t => t === type || (t.endsWith('/*') && type.startsWith(t.slice(0, -1))))
  if (type.startsWith('text/') || /[+/](?:json|xml)$/.test(type)) return true
  // mime-db (from 1.53) marks it compressible: not for a proxy, as said above.
  if (type === 'application/octet-stream') return false
  return mimeDb[type]?.compressible === true
}

/**
 * Whether the first bytes of a body look like a gzip member (RFC 1952 §2.3.1: ID1 ID2 CM) or a
 * zlib stream (RFC 1950 §2.2: CM 8, CINFO ≤ 7, the header a multiple of 31). @fastify/compress
 * sends such a body unencoded under the Content-Encoding it has already set, which a client
 * then fails to decode; plain text can start so ("80 items", "hb…"), so such a body is
 * not handed to it but sent unencoded, as it came.
 */
export function looksEncoded (head: Uint8Array): boolean {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return true
  return head.length >= 2 && (head[0] & 0x0f) === 0x08 && (head[0] & 0x80) === 0 && ((head[0] << 8) + head[1]) % 31 === 0
}

/** How many first bytes looksEncoded reads. */
export const HEAD_BYTES = 3

/** A Vary value that names Accept-Encoding once (case-insensitively), and `*` left alone. */
export function varyWithAcceptEncoding (vary: number | string | string[] | undefined): string {
  const names = (Array.isArray(vary) ? vary.join(',') : String(vary ?? '')).split(',').map(n => n.trim()).filter(n => n !== '')
  if (names.some(n => n === '*' || n.toLowerCase() === 'accept-encoding')) return names.join(', ')
  return [...names, 'accept-encoding'].join(', ')
}

/**
 * The ETag of a re-encoded body: weak (RFC 9110 §8.8.1), as the encoded bytes differ from those
 * the backend tagged. A weak tag still matches its strong form in If-None-Match (weak comparison,
 * §13.1.2), so revalidation keeps working; nginx's gzip filter does the same.
 */
export function weakEtag (etag: string): string {
  return etag.startsWith('W/') ? etag : `W/${etag}`
}
