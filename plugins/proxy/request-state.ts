import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Backend } from '../../lib/upstreams/backend'
import type { Upstream } from '../../lib/upstreams/upstream'
import type { RefusalReason } from '../../lib/filters/refusal'
import type { AttemptObserver } from '../../lib/proxy/attempt'

declare module 'fastify' {
  interface FastifyRequest {
    /** The group the route sends to; null until the handler ran (a policy refused, or no route). */
    upstream: Upstream | null
    /** The server of the current (or last) attempt; what reply-from sends to. */
    backend: Backend | null
    /** A server the sticky policy would like, by id; honoured only while it is ready. */
    preferredBackend: string | null
    /** The group a split route's weights (or the client's group cookie) chose, by name; null on every other route. */
    chosenUpstream: string | null
    /** Why a filter refused the request (plugins/policies/filters/), for the access log; null otherwise. */
    refusal: RefusalReason | null
    /** A gRPC call's grpc-status as its client got it (the backend's, or the gateway's own answer's), for the access log and metrics; null otherwise. */
    grpcStatus: string | null
    /** What follows this request's attempts (the tracing plugin's request span); null when tracing is off. */
    attemptObserver: AttemptObserver | null
  }
}

/**
 * The per-request fields that the gateway's plugins share (who writes and who reads each:
 * plugins/README.md). Declared once, before any plugin that uses them, with null values so
 * that every request object has the same shape.
 */
async function requestState (fastify: FastifyInstance) {
  fastify.decorateRequest('upstream', null)
  fastify.decorateRequest('backend', null)
  fastify.decorateRequest('preferredBackend', null)
  fastify.decorateRequest('refusal', null)
  fastify.decorateRequest('grpcStatus', null)
  fastify.decorateRequest('attemptObserver', null)
  fastify.decorateRequest('chosenUpstream', null)
}

export default fp(requestState, { fastify: '5.x', name: 'gatehouse-request-state' })
