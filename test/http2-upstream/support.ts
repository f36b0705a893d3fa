import { createServer, createSecureServer, type Http2Server, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type SecureServerOptions, type Settings } from 'node:http2'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'

type Test = { teardown (fn: () => unknown): void }

export interface H2Backend {
  url: string
  port: number
  /** Every request that reached it: its HTTP version and which of the backend's connections carried it. */
  hits: Array<{ httpVersion: string, url: string, connection: number, headers: Http2ServerRequest['headers'] }>
  /** How many connections (HTTP/2 sessions) the gateway opened to it. */
  connections (): number
}

/**
 * A node:http2 backend on 127.0.0.1:0: h2c when `tls` is undefined (prior knowledge only: it
 * refuses HTTP/1.1), else HTTP/2 over TLS. It answers 200 naming itself unless `handle` answers.
 * `settings` are the HTTP/2 SETTINGS it sends (e.g. maxConcurrentStreams).
 */
export async function startH2Backend (t: Test, name: string, tls?: SecureServerOptions, handle?: (req: Http2ServerRequest, res: Http2ServerResponse) => void, settings?: Settings): Promise<H2Backend> {
  const hits: H2Backend['hits'] = []
  let sessions = 0
  const ids = new WeakMap<object, number>()
  const onRequest = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    hits.push({ httpVersion: req.httpVersion, url: req.url, connection: ids.get(req.stream.session as object) ?? -1, headers: req.headers })
    if (handle !== undefined) return handle(req, res)
    req.resume()
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.setHeader('x-backend', name)
      res.end(JSON.stringify({ backend: name, url: req.url }))
    })
  }
  const server: Http2Server | Http2SecureServer = tls === undefined ? createServer({ settings }, onRequest) : createSecureServer({ ...tls, settings }, onRequest)
  server.on('session', s => { ids.set(s, ++sessions); s.on('error', () => {}) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const open = new Set<{ destroy: () => void }>()
  server.on('session', s => { open.add(s); s.on('close', () => open.delete(s)) })
  t.teardown(() => { for (const s of open) s.destroy(); server.close() })
  const port = (server.address() as AddressInfo).port
  return { url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`, port, hits, connections: () => sessions }
}

/** A port on 127.0.0.1 that nothing listens on (a backend that is down). */
export async function deadPort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  server.close()
  await once(server, 'close')
  return port
}
