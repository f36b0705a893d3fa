import { connect, type Socket } from 'node:net'
import { once } from 'node:events'

// HTTP/2 frames built by hand (RFC 9113 §4, §6; HPACK literals without indexing, RFC 7541
// §6.2.2), for what node:http2's client never sends: a request body cut by RST_STREAM
// without END_STREAM, a DATA length that disagrees with content-length.

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')
const DATA = 0
const HEADERS = 1
const RST_STREAM = 3
const SETTINGS = 4
const GOAWAY = 7
const END_STREAM = 1
const END_HEADERS = 4

export function frame (type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(stream, 5)
  return Buffer.concat([head, payload])
}

function hpackLength (n: number): Buffer {
  // A 7-bit prefix integer (RFC 7541 §5.1), not Huffman-coded.
  if (n < 127) return Buffer.from([n])
  const out = [127]
  n -= 127
  while (n >= 128) { out.push((n % 128) + 128); n = Math.floor(n / 128) }
  out.push(n)
  return Buffer.from(out)
}

function literal (name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1')
  const v = Buffer.from(value, 'latin1')
  return Buffer.concat([Buffer.from([0]), hpackLength(n.length), n, hpackLength(v.length), v])
}

export function headersFrame (stream: number, headers: Array<[string, string]>, endStream: boolean): Buffer {
  return frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), stream, Buffer.concat(headers.map(([k, v]) => literal(k, v))))
}

export function dataFrame (stream: number, data: string, endStream: boolean): Buffer {
  return frame(DATA, endStream ? END_STREAM : 0, stream, Buffer.from(data, 'latin1'))
}

export function rstFrame (stream: number, code = 8 /* CANCEL */): Buffer {
  const p = Buffer.alloc(4)
  p.writeUInt32BE(code)
  return frame(RST_STREAM, 0, stream, p)
}

export interface RawH2 {
  socket: Socket
  send (...frames: Buffer[]): void
  /** The frames of one type the server sent on a stream so far: [type, flags, payload]. */
  received: Array<{ type: number, flags: number, stream: number, payload: Buffer }>
  close (): void
}

/** A cleartext HTTP/2 connection (prior knowledge) that writes frames as given and parses what comes back. */
export async function rawH2 (port: number): Promise<RawH2> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  const received: RawH2['received'] = []
  let buffer = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    while (buffer.length >= 9) {
      const length = buffer.readUIntBE(0, 3)
      if (buffer.length < 9 + length) break
      const type = buffer[3]
      const flags = buffer[4]
      const stream = buffer.readUInt32BE(5) & 0x7fffffff
      received.push({ type, flags, stream, payload: buffer.subarray(9, 9 + length) })
      // Acknowledge the server's SETTINGS, as a client must (RFC 9113 §6.5.3).
      if (type === SETTINGS && (flags & 1) === 0) socket.write(frame(SETTINGS, 1, 0))
      buffer = buffer.subarray(9 + length)
    }
  })
  socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0)]))
  return {
    socket,
    received,
    send: (...frames) => { socket.write(Buffer.concat(frames)) },
    close: () => socket.destroy()
  }
}

export const FRAME = { DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY }

/** The error code of a RST_STREAM or GOAWAY frame (RFC 9113 §6.4, §6.8). */
export function errorCode (f: { type: number, payload: Buffer }): number {
  return f.type === GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0)
}
