import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { connect, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2'
import type { AddressInfo } from 'node:net'
import gatehouse from '../../app'
import type { GatehouseConfig } from '../../lib/config'

type Test = { teardown (fn: () => unknown): void }

export interface Gateways {
  app: FastifyInstance
  port: number
}

/**
 * The real gateway on a cleartext HTTP/2 server (prior knowledge, RFC 9113 §3.3), which a
 * test client can reach without certificates; the request path is the same as over TLS.
 */
export async function startH2Gateway (t: Test, config: GatehouseConfig): Promise<Gateways> {
  const app = Fastify({ logger: false, http2: true } as FastifyServerOptions) as unknown as FastifyInstance
  await app.register(gatehouse, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, port: (app.server.address() as AddressInfo).port }
}

export interface H2Answer {
  status: number
  headers: Record<string, unknown>
  body: string
  /** The RST_STREAM code when the server reset the stream instead of answering. */
  rstCode?: number
}

/**
 * One HTTP/2 request with the pseudo-headers as given: node:http2's client sends `:path`
 * as it is (it checks only that it is not empty), so a hostile target goes out unchanged.
 */
export async function h2Request (port: number, headers: OutgoingHttpHeaders, body?: string | Buffer | ((stream: import('node:http2').ClientHttp2Stream) => void), session?: ClientHttp2Session): Promise<H2Answer> {
  const own = session === undefined
  const s = session ?? connect(`http://127.0.0.1:${port}`)
  s.on('error', () => {})
  try {
    return await new Promise<H2Answer>(resolve => {
      const stream = s.request({ ':method': 'GET', ':authority': 'gw.test', ...headers }, { endStream: body === undefined })
      let status = 0
      let head: Record<string, unknown> = {}
      let text = ''
      stream.on('response', h => { status = Number(h[':status']); head = h })
      stream.setEncoding('latin1')
      stream.on('data', (c: string) => { text += c })
      stream.on('error', () => {})
      stream.on('close', () => resolve({ status, headers: head, body: text, rstCode: status === 0 ? stream.rstCode : undefined }))
      if (typeof body === 'function') body(stream)
      else if (body !== undefined) stream.end(body)
    })
  } finally {
    if (own) s.close()
  }
}
