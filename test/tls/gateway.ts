import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { request as httpsRequest, createServer as createHttpsServer, type RequestOptions, type ServerOptions } from 'node:https'
import { connect as h2connect } from 'node:http2'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import gatehouse from '../../app'
import type { GatehouseConfig } from '../../lib/config'
import type { LogLine } from '../helper'

type Test = { teardown (fn: () => unknown): void }

export interface TlsGateway {
  app: FastifyInstance
  port: number
  url: string
  logs: LogLine[]
}

/**
 * Gatehouse as a host app would run it over TLS: the server made from the config
 * (gatehouse.serverOptions), the plugin registered with the same config.
 */
export async function startTlsGateway (t: Test, config: GatehouseConfig, opts: { baseDir: string, level?: string }): Promise<TlsGateway> {
  const logs: LogLine[] = []
  const stream = { write (chunk: string) { for (const line of chunk.split('\n')) if (line !== '') logs.push(JSON.parse(line)) } }
  const server = gatehouse.serverOptions(config, { baseDir: opts.baseDir })
  const app = Fastify({ logger: { level: opts.level ?? 'info', stream }, ...server } as FastifyServerOptions) as unknown as FastifyInstance
  await app.register(gatehouse, { ...config, baseDir: opts.baseDir })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port
  return { app, port, url: `https://127.0.0.1:${port}`, logs }
}

export interface TlsReply {
  status: number
  headers: IncomingMessage['headers']
  body: string
  /** The subject CN of the certificate the server presented. */
  peerCN: string
  alpn: string | false | null | boolean
}

/** One HTTPS/1.1 request on a fresh connection (no agent), trusting `ca`. */
export function httpsCall (url: string, opts: { ca: string, servername?: string, method?: string, headers?: Record<string, string>, body?: string } = { ca: '' }): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    // https.request passes TLS options such as ALPNProtocols on to tls.connect; its type omits them.
    const options = { method: opts.method ?? 'GET', headers: opts.headers, ca: opts.ca, servername: opts.servername, agent: false, ALPNProtocols: ['http/1.1'] }
    const req = httpsRequest(url, options as RequestOptions, res => {
      const socket = res.socket as TLSSocket
      const peerCN = String(socket.getPeerCertificate().subject?.CN ?? '')
      const alpn = socket.alpnProtocol
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => { body += c }).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, peerCN, alpn }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** One HTTP/2 request on a fresh session (ALPN h2), trusting `ca`. */
export function h2Call (url: string, opts: { ca: string, servername?: string, method?: string, path?: string, authority?: string, headers?: Record<string, string>, body?: string }): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const session = h2connect(url, { ca: opts.ca, servername: opts.servername })
    session.on('error', reject)
    const headers: Record<string, string> = { ':method': opts.method ?? 'GET', ':path': opts.path ?? '/', ...opts.headers }
    if (opts.authority !== undefined) headers[':authority'] = opts.authority
    const stream = session.request(headers)
    let status = 0
    let head: IncomingMessage['headers'] = {}
    stream.on('response', h => { status = Number(h[':status']); head = h as IncomingMessage['headers'] })
    let body = ''
    stream.setEncoding('utf8').on('data', (c: string) => { body += c })
    stream.on('end', () => {
      const socket = session.socket as TLSSocket
      const reply = { status, headers: head, body, peerCN: String(socket.getPeerCertificate().subject?.CN ?? ''), alpn: session.alpnProtocol ?? false }
      session.close()
      resolve(reply)
    })
    stream.on('error', reject)
    stream.end(opts.body)
  })
}

export interface TlsBackend {
  url: string
  port: number
  hits: Array<{ method: string, url: string, headers: IncomingMessage['headers'], clientCN?: string }>
}

/** An HTTPS backend on 127.0.0.1:0 that answers 200 JSON naming itself and records what reached it. */
export async function startTlsBackend (t: Test, name: string, options: ServerOptions, handle?: (req: IncomingMessage, res: ServerResponse) => void): Promise<TlsBackend> {
  const hits: TlsBackend['hits'] = []
  const server = createHttpsServer(options, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate?.()
    hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, clientCN: peer?.subject?.CN === undefined ? undefined : String(peer.subject.CN) })
    if (handle !== undefined) return handle(req, res)
    req.resume()
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.setHeader('x-backend', name)
      res.end(JSON.stringify({ backend: name, url: req.url }))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const port = (server.address() as AddressInfo).port
  return { url: `https://127.0.0.1:${port}`, port, hits }
}
