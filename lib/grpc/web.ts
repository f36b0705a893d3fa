import { Transform, type TransformCallback } from 'node:stream'
import type { OutgoingHttpHeaders } from 'node:http'

/*
 * gRPC-Web (grpc/doc/PROTOCOL-WEB.md), as Envoy's grpc_web filter bridges it: a browser's call
 * in `application/grpc-web[+proto]` (the gRPC framing as is) or `application/grpc-web-text[+proto]`
 * (the same, base64) goes to the backend as `application/grpc` with `te: trailers`, and the
 * backend's trailers come back inside the body, as a last frame whose flag byte is 0x80 and
 * whose message is the trailers as `name: value\r\n` lines (HTTP/1.1 carries no trailers a
 * browser can read).
 */

export interface GrpcWebMode {
  /** base64 both ways (`-text`). */
  text: boolean
  /** The content type the backend gets: application/grpc, with the client's `+format`. */
  grpcType: string
  /** The content type of the answer: the client's own, less parameters. */
  webType: string
}

const WEB = 'application/grpc-web'

/** The gRPC-Web variant a content type names, or null when it is not gRPC-Web. */
export function grpcWebMode (contentType: string | undefined): GrpcWebMode | null {
  if (contentType === undefined) return null
  const type = contentType.split(';', 1)[0].trim().toLowerCase()
  if (!type.startsWith(WEB)) return null
  let rest = type.slice(WEB.length)
  const text = rest.startsWith('-text')
  if (text) rest = rest.slice(5)
  if (rest !== '' && !/^\+[a-z0-9.-]+$/.test(rest)) return null
  return { text, grpcType: 'application/grpc' + rest, webType: type }
}

/** The trailer frame: flag 0x80, a 4-byte length, then `name: value\r\n` per trailer (lower-case names, as HTTP/2 has them). */
export function trailerFrame (trailers: OutgoingHttpHeaders): Buffer {
  let text = ''
  for (const name in trailers) {
    const value = trailers[name]
    if (value === undefined || name.startsWith(':')) continue
    for (const v of Array.isArray(value) ? value : [value]) text += `${name.toLowerCase()}: ${String(v)}\r\n`
  }
  const body = Buffer.from(text, 'latin1')
  const head = Buffer.alloc(5)
  head[0] = 0x80
  head.writeUInt32BE(body.length, 1)
  return Buffer.concat([head, body])
}

/**
 * Decodes a base64 request body chunk by chunk. gRPC-Web clients may send several base64
 * runs one after another, each padded (one per message), so the text is decoded in whole
 * 4-character groups, a padded group included; what is left of a group waits for the next chunk.
 */
export class Base64Decoder extends Transform {
  private rest = ''

  /** `invalid` makes the error of a body that is not base64 (the caller's kind of error). */
  constructor (private readonly invalid: (reason: string) => Error = reason => new Error(reason)) {
    super()
  }

  _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.rest + chunk.toString('latin1').replace(/[\r\n\t ]/g, '')
    const whole = text.length - (text.length % 4)
    this.rest = text.slice(whole)
    if (whole > 0) {
      const group = text.slice(0, whole)
      if (!/^[A-Za-z0-9+/=]*$/.test(group)) {
        callback(this.invalid('the gRPC-Web text body is not base64'))
        return
      }
      callback(null, decodeRuns(group))
      return
    }
    callback()
  }

  _flush (callback: TransformCallback): void {
    callback(this.rest === '' ? null : this.invalid('the gRPC-Web text body ends inside a base64 group'))
  }
}

/** base64 that may hold padded runs back to back: each run is decoded on its own. */
function decodeRuns (text: string): Buffer {
  if (!text.includes('=') || text.indexOf('=') >= text.length - 2) return Buffer.from(text, 'base64')
  const parts: Buffer[] = []
  let start = 0
  for (let i = 0; i < text.length; i += 4) {
    if (text[i + 3] === '=') {
      parts.push(Buffer.from(text.slice(start, i + 4), 'base64'))
      start = i + 4
    }
  }
  if (start < text.length) parts.push(Buffer.from(text.slice(start), 'base64'))
  return Buffer.concat(parts)
}

/**
 * The answer's body for a gRPC-Web client: the backend's frames as they come (base64 for
 * `-text`: one base64 run for the whole body, each chunk's odd bytes carried to the next),
 * then the trailer frame that `trailers()` gives once the backend's body has ended, if any.
 */
export class GrpcWebEncoder extends Transform {
  private carry: Buffer = Buffer.alloc(0)

  constructor (private readonly text: boolean, private readonly trailers: () => OutgoingHttpHeaders | null) {
    super()
  }

  _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, this.encode(chunk))
  }

  _flush (callback: TransformCallback): void {
    const trailers = this.trailers()
    const tail = trailers === null ? Buffer.alloc(0) : trailerFrame(trailers)
    if (!this.text) {
      callback(null, tail)
      return
    }
    const last = Buffer.concat([this.carry, tail])
    this.carry = Buffer.alloc(0)
    callback(null, last.length === 0 ? undefined : Buffer.from(last.toString('base64'), 'latin1'))
  }

  private encode (chunk: Buffer): Buffer {
    if (!this.text) return chunk
    const all = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk])
    const whole = all.length - (all.length % 3)
    this.carry = Buffer.from(all.subarray(whole))
    return Buffer.from(all.subarray(0, whole).toString('base64'), 'latin1')
  }
}
