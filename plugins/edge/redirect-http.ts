import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import { isValidHost } from '../../lib/http/request-target'

export interface RedirectHttpOptions {
  /** The plain-HTTP port (`listen.redirectHttp`); 0 takes any free one. */
  port: number
}

/**
 * `listen.redirectHttp`: a plain-HTTP listener, beside the TLS one and on the same
 * address, that sends every request to the same host and path over https. 301 for GET and
 * HEAD; 308 for the rest, which, unlike 301, obliges the client to repeat the method and
 * body (RFC 9110 §15.4.2, §15.4.9). It proxies nothing. Started once the main server listens
 * (its address and port are only known then); closed with the app. Its address is logged and
 * set as `app.gatehouse.redirectUrl`.
 */
export default async function redirectHttp (fastify: FastifyInstance, opts: RedirectHttpOptions) {
  let server: Server | undefined

  fastify.addHook('onListen', async () => {
    const main = fastify.server.address() as AddressInfo
    const httpsPort = main.port
    server = createServer((req, res) => redirect(req, res, httpsPort))
    // Slow or idle clients of a listener that only answers redirects are not worth holding.
    server.headersTimeout = 10_000
    server.requestTimeout = 10_000
    server.keepAliveTimeout = 5_000
    server.listen(opts.port, main.address)
    await once(server, 'listening')
    const bound = server.address() as AddressInfo
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
    fastify.gatehouse.redirectUrl = `http://${host}:${bound.port}`
    fastify.log.info({ url: fastify.gatehouse.redirectUrl, to: httpsPort }, 'redirecting plain HTTP to https')
  })

  fastify.addHook('onClose', async () => {
    if (server === undefined || !server.listening) return
    const closed = once(server, 'close')
    server.close()
    server.closeAllConnections()
    await closed
  })
}

function redirect (req: IncomingMessage, res: ServerResponse, httpsPort: number): void {
  req.resume()
  const host = req.headers.host
  const url = req.url ?? '/'
  // No Host (HTTP/1.0), an invalid one, or a target not in origin form: nowhere safe to send the client.
  if (host === undefined || !isValidHost(host) || url.charCodeAt(0) !== 47 /* / */) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('Bad Request: use https\n')
    return
  }
  const name = hostName(host)
  const location = `https://${name}${httpsPort === 443 ? '' : `:${httpsPort}`}${url}`
  const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308
  res.writeHead(status, { location, 'content-length': '0' }).end()
}

/** The Host value less its port: "[::1]:80" → "[::1]", "example.com:80" → "example.com". */
function hostName (host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.lastIndexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}
