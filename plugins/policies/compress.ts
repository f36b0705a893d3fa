import fp from 'fastify-plugin'
import Fastify from 'fastify'
import fastifyCompress from '@fastify/compress'
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler, RouteOptions } from 'fastify'
import { constants } from 'node:zlib'
import type { CompressSettings } from '../../lib/config'
import { BROTLI_QUALITY, BROTLI_WINDOW_BITS, GZIP_LEVEL } from '../../lib/config'
import { routeCompress } from '../../lib/config/normalize/compress'
import { encodable, HEAD_BYTES, looksEncoded, varyWithAcceptEncoding, weakEtag } from '../../lib/compress/decision'
import { readHead } from '../../lib/http/stream-head'
import { toArray } from '../../lib/to-array'
import { isStream } from '../../lib/http/body-kind'
import type { HookFactory } from './pipeline'

type Done = (err: Error | null, payload?: unknown) => void
/** A route's `compress` options, as @fastify/compress reads them. */
type RouteCompressOptions = Exclude<RouteOptions['compress'], false | undefined>
type OnSend = (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply, payload: unknown, done: Done) => void

/**
 * Response compression, with @fastify/compress doing the encoding: its Accept-Encoding
 * negotiation (q-values, `*`, `identity`), its zlib streams and its one-go path for small
 * buffers. Registered only when some route compresses, and even then no route that does not
 * compress gets any hook of it: @fastify/compress builds each compressing route's onSend hook
 * on a private instance (encoders below), and the pipeline hangs it, wrapped in ours, in the
 * place it declares (plugins/policies/pipeline.ts). Registered in the gateway's context, with
 * `global: false` it would still add an onRequest hook to every route.
 *
 * The wrapper decides first (lib/compress/decision.ts), for streams and buffers alike:
 * @fastify/compress applies its threshold only to buffers, and every proxied answer is a
 * stream, so ours reads the backend's content-length instead (unknown: encoded). Ours also
 * merges Vary case-insensitively (it would add `accept-encoding` beside a backend's
 * `Accept-Encoding`), weakens the ETag of what it encoded, and keeps away the bodies it would
 * mislabel (lib/compress/decision.ts, looksEncoded).
 *
 * The hook is a route hook, so it runs after the gateway's own onSend hooks: plugins/edge/limits.ts
 * has by then watched the backend's stream for send stalls, and the encoder is piped from it,
 * so a client that stops reading stops the encoder, which stops that stream (pipe backpressure)
 * and the send timeout still fires. The cache (plugins/policies/cache.ts) stores the backend's plain
 * answer before onSend, so hits are encoded per client as misses are.
 */
async function compress (fastify: FastifyInstance) {
  const config = fastify.gatehouse.config
  if (!config.routes.some(r => routeCompress(config, r) !== undefined)) return
  const encoder = await encoders()
  const step: HookFactory<'onSend'> = route => {
    const settings = routeCompress(config, route)
    if (settings === undefined) return undefined
    const encode = encoder({
      encodings: settings.encodings,
      // Both decided by ours, once, before @fastify/compress's hook is called at all.
      threshold: 0,
      customTypes: () => true,
      brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS } },
      zlibOptions: { level: GZIP_LEVEL }
    })
    return gatehouseCompress(encode, settings) as onSendHookHandler
  }
  fastify.gatehousePipeline.provide({ compress: step })
}

/**
 * @fastify/compress makes a route's onSend hook from the route's `compress` options in an
 * onRoute hook of its own, and offers no other way to get it. So it is registered on a
 * private Fastify instance that never starts nor listens, and each call declares a route
 * there with those options and takes the one onSend hook it was given; the gateway's routes
 * never meet @fastify/compress's onRoute hook.
 */
async function encoders (): Promise<(options: RouteCompressOptions) => OnSend> {
  const scratch = Fastify()
  await scratch.register(fastifyCompress, { global: false })
  let built: unknown[] = []
  scratch.addHook('onRoute', routeOptions => { built = toArray(routeOptions.onSend) })
  let routes = 0
  return options => {
    scratch.route({ method: 'GET', url: `/${routes++}`, exposeHeadRoute: false, compress: options, handler: noop })
    if (built.length !== 1) throw new Error(`@fastify/compress added ${built.length} onSend hooks to a route, not one: its version does not fit plugins/policies/compress.ts`)
    return built[0] as OnSend
  }
}

function noop (): void {}

/** Our decision around @fastify/compress's onSend hook (`encode`). */
function gatehouseCompress (encode: OnSend, settings: CompressSettings): OnSend {
  return function gatehouseCompress (request, reply, payload, done) {
    if (payload === null || payload === undefined) return done(null, payload)
    const stream = isStream(payload)
    const length = stream ? declaredLength(reply) : Buffer.byteLength(payload as string | Buffer)
    if (!encodable(reply.statusCode, name => reply.getHeader(name), length, settings)) return done(null, payload)
    const vary = varyWithAcceptEncoding(reply.getHeader('vary'))
    reply.header('vary', vary)
    // A HEAD answer has no body to encode: its fields stay those of the plain answer, as
    // nginx's gzip filter leaves HEAD alone; the Vary says that a GET may differ.
    if (request.method === 'HEAD') return done(null, payload)
    const run = (body: unknown) => {
      encode.call(this, request, reply, body, (err, out) => {
        const coding = reply.getHeader('content-encoding')
        if (coding !== undefined && coding !== 'identity') {
          const etag = reply.getHeader('etag')
          if (typeof etag === 'string') reply.header('etag', weakEtag(etag))
          // Byte ranges of the encoded body are not served.
          reply.removeHeader('accept-ranges')
        }
        reply.header('vary', vary)
        done(err, out === undefined ? body : out)
      })
    }
    if (!stream) return looksEncoded(typeof payload === 'string' ? Buffer.from(payload.slice(0, HEAD_BYTES)) : payload as Buffer) ? done(null, payload) : run(payload)
    readHead(payload, HEAD_BYTES, result => {
      // A failed stream goes on as it is; Fastify then ends the answer as for any broken stream.
      if ('error' in result) return done(null, payload)
      const body = result.rest ? payload : result.head
      if (looksEncoded(result.head)) done(null, body)
      else run(body)
    })
  }
}

/** The body size a stream's answer declares (the backend's content-length), or undefined (chunked). */
function declaredLength (reply: FastifyReply): number | undefined {
  const value = reply.getHeader('content-length')
  const length = Number(Array.isArray(value) ? value[0] : value)
  return value === undefined || !Number.isFinite(length) ? undefined : length
}

export default fp(compress, { fastify: '5.x', name: 'gatehouse-compress', dependencies: ['gatehouse-pipeline', 'gatehouse-upstreams', 'gatehouse-limits'] })
