import fp from 'fastify-plugin'
import type { FastifyInstance, onRequestHookHandler, onSendHookHandler, preParsingHookHandler } from 'fastify'
import type { OutgoingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { Base64Decoder, GrpcWebEncoder, grpcWebMode, type GrpcWebMode } from '../../lib/grpc/web'
import { carriedTrailers, NO_STATUS_MESSAGE, trailersInBody } from '../../lib/grpc/trailers'
import { GRPC_STATUS } from '../../lib/grpc/status'
import { isStream } from '../../lib/http/body-kind'
import { ClientAbortedError } from '../../lib/errors'
import type { HookFactory } from './pipeline'

// The gRPC-Web variant of a request, by its raw request: set onRequest, read by the two later steps.
const modes = new WeakMap<object, GrpcWebMode>()

/**
 * gRPC-Web on the routes with `grpcWeb: true`, as Envoy's grpc_web filter bridges it
 * (lib/grpc/web.ts has the codec). onRequest: a gRPC-Web call becomes a gRPC call for the
 * rest of the gateway (content type, `te: trailers`), so it streams, honours grpc-timeout
 * and gets gRPC statuses for the gateway's own errors like any other. preParsing: a `-text`
 * body is base64-decoded. onSend: the answer goes out in the client's content type, with the
 * backend's trailers as the body's last frame (base64 for `-text`). CORS is not its concern
 * (Envoy has a separate cors filter): header rules answer that.
 */
async function grpcWeb (fastify: FastifyInstance) {
  const request: HookFactory<'onRequest'> = route => route.grpcWeb ? gatehouseGrpcWebRequest : undefined
  const text: HookFactory<'preParsing'> = route => route.grpcWeb ? gatehouseGrpcWebText : undefined
  const response: HookFactory<'onSend'> = route => route.grpcWeb ? gatehouseGrpcWebResponse : undefined
  fastify.gatehousePipeline.provide({ 'grpc-web-request': request, 'grpc-web-text': text, 'grpc-web-response': response })
}

const gatehouseGrpcWebRequest: onRequestHookHandler = function (request, reply, done) {
  const mode = grpcWebMode(request.headers['content-type'])
  if (mode === null) {
    done()
    return
  }
  modes.set(request.raw, mode)
  const headers = request.headers
  headers['content-type'] = mode.grpcType
  headers.te = 'trailers'
  // The backend gets the decoded body, of another length.
  if (mode.text) delete headers['content-length']
  trailersInBody(reply.raw)
  done()
}

const gatehouseGrpcWebText: preParsingHookHandler = function (request, _reply, payload, done) {
  const mode = modes.get(request.raw)
  if (mode === undefined || !mode.text) {
    done(null, payload)
    return
  }
  // A body that is not base64 is the client's fault: a 400 charged to no server.
  const decoder = new Base64Decoder(() => new ClientAbortedError())
  payload.once('error', (err: Error) => decoder.destroy(err))
  done(null, payload.pipe(decoder))
}

const gatehouseGrpcWebResponse: onSendHookHandler = function (request, reply, payload, done) {
  const mode = modes.get(request.raw)
  if (mode === undefined) {
    done(null, payload)
    return
  }
  reply.header('content-type', mode.webType)
  // A gateway error or a backend's trailers-only answer: the status is in the headers,
  // which gRPC-Web clients read when the body holds no trailer frame.
  if (!isStream(payload)) {
    done(null, payload)
    return
  }
  reply.removeHeader('content-length')
  const source = payload as Readable
  const trailersOnly = reply.getHeader('grpc-status') !== undefined
  const encoder = new GrpcWebEncoder(mode.text, () => {
    const trailers = webTrailers(source, trailersOnly)
    // The status the client reads, kept for the access log and metrics as passTrailers keeps
    // a gRPC call's: the trailer frame's, or a trailers-only answer's header.
    request.grpcStatus = firstOf(trailers === null ? reply.getHeader('grpc-status') : trailers['grpc-status'])
    return trailers
  })
  source.once('error', (err: Error) => encoder.destroy(err))
  done(null, source.pipe(encoder))
}

function firstOf (value: string | number | readonly string[] | undefined): string | null {
  if (value === undefined) return null
  return Array.isArray(value) ? value[0] ?? null : String(value)
}

/** The trailer frame's content: the backend's trailers; none for a trailers-only answer; UNKNOWN when the backend sent no status at all. */
function webTrailers (source: Readable, trailersOnly: boolean): OutgoingHttpHeaders | null {
  const trailers = carriedTrailers(source)
  const out: OutgoingHttpHeaders = {}
  let any = false
  for (const name in trailers) {
    const value = trailers[name]
    if (value === undefined || name.startsWith(':')) continue
    out[name] = value
    any = true
  }
  if (!any && trailersOnly) return null
  if (out['grpc-status'] === undefined) {
    out['grpc-status'] = String(GRPC_STATUS.UNKNOWN)
    out['grpc-message'] = NO_STATUS_MESSAGE
  }
  return out
}

export default fp(grpcWeb, { fastify: '5.x', name: 'gatehouse-grpc-web', dependencies: ['gatehouse-pipeline'] })
