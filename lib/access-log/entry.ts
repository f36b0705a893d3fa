import type { IncomingHttpHeaders } from 'node:http'

/**
 * What an access line may say about one request, gathered by plugins/ops/access-log.ts when a
 * line is to be written: the fields (lib/access-log/fields.ts) read it, never the request itself.
 */
export interface LogEntry {
  method: string
  /** The request target as the client sent it (path and query). */
  url: string
  /** "1.1", "2.0". */
  httpVersion: string
  headers: IncomingHttpHeaders
  /** The client address (the PROXY protocol's client behind a balancer). */
  ip: string
  /** Fastify's request id. */
  reqId: string
  /** x-request-id: the client's, or the one the gateway made. */
  requestId: string
  status: number
  /** Milliseconds from the request to the end of the answer (Fastify's reply.elapsedTime). */
  responseTime: number
  /** When the line is written, ms since the epoch. */
  time: number
  upstream: string | undefined
  /** The id of the server that answered (the last one tried). */
  server: string | undefined
  /** Its origin, as the pools name it (scheme://host:port). */
  serverOrigin: string | undefined
  /** The route's name, or its index. */
  route: string
  /** proxied, refused or redirected. */
  outcome: string
  /** A filter's refusal reason. */
  reason: string | undefined
  /** A gRPC call's grpc-status (the backend's, or the gateway's own answer's). */
  grpcStatus: string | undefined
  /** Body bytes written to the client, when the format asks for them (else 0). */
  bytesSent: number
  /** A header of the answer as sent. */
  sentHeader (name: string): number | string | string[] | undefined
}
