import { connect, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'

type Test = { teardown (fn: () => unknown): void }

export interface RawAnswer {
  /** Everything the server wrote, as latin1 text. */
  text: string
  /** Whether the server closed the connection before the deadline. */
  closed: boolean
  /** Status codes of the responses, in order. */
  statuses: number[]
}

/**
 * Writes `bytes` to 127.0.0.1:port as they are and reads until the server closes the
 * connection, until `until(text)` holds, or until the deadline, whichever comes first.
 */
export async function rawRequest (port: number, bytes: string | Buffer, opts: { deadline?: number, until?: (text: string) => boolean } = {}): Promise<RawAnswer> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  let text = ''
  let closed = false
  await new Promise<void>(resolve => {
    const timer = setTimeout(finish, opts.deadline ?? 2_000)
    function finish (): void {
      clearTimeout(timer)
      resolve()
    }
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1')
      if (opts.until?.(text) === true) finish()
    })
    socket.on('close', () => {
      closed = true
      finish()
    })
    socket.write(bytes)
  })
  socket.destroy()
  return { text, closed, statuses: statuses(text) }
}

/**
 * The status codes of the responses in a raw byte stream, in order, read by their framing
 * (Content-Length, or chunked), so that a body that quotes a status line is not counted.
 */
export function statuses (text: string): number[] {
  const out: number[] = []
  let at = 0
  while (at < text.length) {
    const m = /^HTTP\/1\.[01] (\d{3}) /.exec(text.slice(at, at + 13))
    const end = text.indexOf('\r\n\r\n', at)
    if (m === null || end === -1) break
    out.push(Number(m[1]))
    const head = text.slice(at, end)
    at = end + 4
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)
    if (length !== null) {
      at += Number(length[1])
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const last = text.indexOf('\r\n0\r\n\r\n', at - 2)
      at = last === -1 ? text.length : last + 7
    } else if (!/^HTTP\/1\.[01] (1\d\d|204|304) /.test(head)) {
      break
    }
  }
  return out
}

/** The body of the last response in `text`. */
export function lastBody (text: string): string {
  const at = text.lastIndexOf('\r\n\r\n')
  return at === -1 ? '' : text.slice(at + 4)
}

export interface RecordingBackend {
  url: string
  port: number
  /** The exact request line of each request received, e.g. "GET /x?y HTTP/1.1". */
  lines: string[]
  /** The raw head (request line and headers) of each request received. */
  heads: string[]
  server: Server
}

/**
 * A backend on a raw socket that records each request line byte for byte (Node's HTTP
 * server would hand us its own parse), reads any body by Content-Length or chunked framing
 * roughly enough for tests, and answers 200 with the request line as the body.
 */
export async function startRecordingBackend (t: Test): Promise<RecordingBackend> {
  const lines: string[] = []
  const heads: string[] = []
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffer = ''
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1')
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end === -1) return
        const head = buffer.slice(0, end)
        let rest = buffer.slice(end + 4)
        const length = /\r\ncontent-length: *(\d+)/i.exec(head)
        if (length !== null) {
          const n = Number(length[1])
          if (rest.length < n) return
          rest = rest.slice(n)
        } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
          const last = rest.indexOf('0\r\n\r\n')
          if (last === -1) return
          rest = rest.slice(last + 5)
        }
        buffer = rest
        const line = head.slice(0, head.indexOf('\r\n'))
        lines.push(line)
        heads.push(head)
        // A HEAD answer has no body (RFC 9110 §9.3.2): writing one would break the framing.
        const body = line.startsWith('HEAD ') ? '' : line
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(line, 'latin1')}\r\n\r\n${body}`, 'latin1')
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise(resolve => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${port}`, port, lines, heads, server }
}

/** An HTTP/1.1 request as bytes: a request line, the given header lines, and an optional body. */
export function request (line: string, headers: string[] = ['Host: gw.test'], body = ''): string {
  return `${line}\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n${body}`
}
