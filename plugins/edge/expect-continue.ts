import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'

type Request = (IncomingMessage | Http2ServerRequest) & { _read: (size: number) => void }
type Response = ServerResponse | Http2ServerResponse

const kContinue = Symbol('gatehouse.expectContinue')

/**
 * `Expect: 100-continue` answered as nginx does: the 100 goes out only once the request has
 * passed the route's checks and its body is about to be read, so that an upload refused
 * (413 for a declared size over maxBodySize, 401, 403, 405, 429) gets its refusal and never
 * the invitation to send a body first. Node's servers (HTTP/1.1 and HTTP/2 alike) write the
 * 100 at once unless a 'checkContinue' listener is there; this one hands the request to the
 * server's 'request' listeners (the protocol checks, then Fastify) as Node would have, with
 * the 100 deferred to the first read of the body: the body parser, or the forwarder streaming
 * it, is what reads, and both run after the onRequest hooks where the filters are.
 *
 * A property of the server, like the protocol checks: in plugin mode it covers the host
 * app's routes too. A host that listens for 'checkContinue' itself keeps it.
 */
async function expectContinue (fastify: FastifyInstance) {
  const server = fastify.server as typeof fastify.server & { [kContinue]?: true }
  if (server[kContinue] === true || server.listenerCount('checkContinue') > 0) return
  server[kContinue] = true
  server.on('checkContinue', (req: Request, res: Response) => {
    continueOnRead(req, res)
    server.emit('request', req, res)
  })
}

/** Writes the 100 when the body is first read, unless a final answer has begun by then. */
function continueOnRead (req: Request, res: Response): void {
  const read = req._read
  req._read = function (size: number) {
    req._read = read
    // Node reads a body it will not use (to dump it) after the answer: no 100 then.
    if (!res.headersSent && !res.writableEnded && !res.destroyed) res.writeContinue()
    read.call(this, size)
  }
}

export default fp(expectContinue, { fastify: '5.x', name: 'gatehouse-expect-continue' })
