import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** A promise that rejects after `ms`, racing another: a generous upper bound on how long something may take. */
export async function within<T> (what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([p, deadline])
  } finally {
    clearTimeout(timer)
  }
}

export interface RawClient {
  socket: Socket
  /** Everything received so far. */
  received (): string
  /** Resolves when the gateway closed the connection (end or reset), with what was received. */
  closed: Promise<string>
}

/** A raw TCP client to the gateway, for clients that misbehave; `bytes` are written at once. */
export async function rawClient (port: number, bytes = ''): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  let data = ''
  socket.setEncoding('latin1')
  socket.on('data', (d: string) => { data += d })
  const closed = new Promise<string>(resolve => socket.once('close', () => resolve(data)))
  await once(socket, 'connect')
  if (bytes !== '') socket.write(bytes)
  return { socket, received: () => data, closed }
}

export interface BackendRequestLog {
  /** The backend saw the request end early (aborted by the gateway) before it answered whole. */
  aborted: boolean
  /** The backend finished its answer. */
  finished: boolean
}

/** Records how a backend request ended: finished, or closed by the gateway first. */
export function track (req: IncomingMessage, res: ServerResponse): BackendRequestLog {
  const log: BackendRequestLog = { aborted: false, finished: false }
  res.once('finish', () => { log.finished = true })
  res.once('close', () => { if (!log.finished) log.aborted = true })
  req.once('aborted', () => { log.aborted = true })
  return log
}

/**
 * Writes `total` bytes to a backend response, `chunk` at a time (64 KiB of `x` unless given),
 * honouring backpressure; `headers` replace the default binary type with its length.
 */
export function streamBytes (res: ServerResponse, total: number, opts: { chunk?: Buffer, headers?: Record<string, string> } = {}): void {
  const chunk = opts.chunk ?? Buffer.alloc(64 * 1024, 'x')
  let sent = 0
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      sent += chunk.length
      if (!res.write(chunk)) {
        res.once('drain', pump)
        return
      }
    }
    if (!res.destroyed) res.end()
  }
  res.writeHead(200, opts.headers ?? { 'content-type': 'application/octet-stream', 'content-length': String(total) })
  pump()
}
