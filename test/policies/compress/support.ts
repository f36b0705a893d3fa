import type { IncomingMessage, ServerResponse } from 'node:http'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { request, Agent } from 'undici'
import { startBackend, startGateway, type TestBackend, type TestGateway } from '../../helper'
import type { GatehouseConfig } from '../../../lib/config'

type Test = { teardown (fn: () => unknown): void }

export interface CompressingGateway extends TestGateway {
  backend: TestBackend
}

/**
 * One backend whose answers the test writes, behind a gateway compressing every route with
 * the defaults. `extra` is merged into the config (a top-level compress of its own, a cache,
 * upstream keys, route keys).
 */
export async function startCompressing (t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void, extra: Partial<GatehouseConfig> & { upstream?: Record<string, unknown>, route?: Record<string, unknown> } = {}): Promise<CompressingGateway> {
  const backend = await startBackend(t, 'b')
  backend.handle(handler)
  const { upstream, route, ...rest } = extra
  const gw = await startGateway(t, {
    compress: {},
    ...rest,
    upstreams: { u: { servers: [{ url: backend.url }], ...upstream } },
    routes: [{ match: { path: '/*' }, upstream: 'u', ...route }]
  } as GatehouseConfig)
  return { ...gw, backend }
}

export interface RawReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The bytes as they came, undecoded. */
  raw: Buffer
  /** The body decoded by its content-encoding (node:zlib), as a client would. */
  decoded (): Buffer
}

// undici's request() does not decode bodies: the test sees the bytes the gateway wrote.
const agent = new Agent({ keepAliveTimeout: 10 })

export async function fetchRaw (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawReply> {
  const res = await request(url, { method: method as 'GET', headers, dispatcher: agent })
  const raw = Buffer.from(await res.body.arrayBuffer())
  const coding = res.headers['content-encoding'] as string | undefined
  return { status: res.statusCode, headers: res.headers, raw, decoded: () => decode(raw, coding) }
}

export function decode (raw: Buffer, coding: string | undefined): Buffer {
  if (coding === undefined || coding === 'identity') return raw
  if (coding === 'br') return brotliDecompressSync(raw)
  if (coding === 'gzip') return gunzipSync(raw)
  if (coding === 'deflate') return inflateSync(raw)
  throw new Error(`unexpected content-encoding ${coding}`)
}

/** Text that compresses well but not absurdly, `size` bytes of it. */
export function text (size: number): Buffer {
  const words = ['gatehouse', 'proxy', 'balance', 'upstream', 'route', 'cache', 'compress', 'stream']
  const parts: string[] = []
  let length = 0
  for (let i = 0; length < size; i++) {
    const w = `${words[(i * 7 + (i >> 3)) % words.length]}${i % 13} `
    parts.push(w)
    length += w.length
  }
  return Buffer.from(parts.join('')).subarray(0, size)
}

/** A handler answering `body` with the given fields (content-length set unless a field says otherwise). */
export function answer (headers: Record<string, string | string[]>, body: Buffer | string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume()
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
    res.end(body)
  }
}
