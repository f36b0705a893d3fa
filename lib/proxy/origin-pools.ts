import { Pool, type Dispatcher } from 'undici'
import type { UpstreamProtocol, UpstreamTls } from '../config/types'
import { H2_STREAMS_PER_CONNECTION } from '../config/defaults'
import { tlsConnectOptions } from './tls-connect'
import { applyTarget } from './upstream-target'
import { carriedPoolKey } from './pool-key'
import { Admission } from './admission'
import { applySignal, CLIENT_GONE_CODE } from './client-signal'
import { ClientBoundPools } from './client-bound-pools'
import { proxyProtocolConnector, type ProxyProtocolVersion } from './proxy-protocol-connect'
import { applyInterim } from './interim'
import { carryTrailers } from '../grpc/trailers'
import { requestKeepingTrailers } from '../grpc/h2-trailers'
import { holdTrailersBehindData } from '../grpc/trailers-after-data'
import { drainOnGoaway } from './h2/goaway'
import { cancelOnAbort } from './h2/cancel-on-abort'
import { shareConnections } from './h2/share-connections'

export interface PoolOptions {
  /** The scheme://host:port the pool connects to. */
  origin: string
  connections: number
  connectTimeout: number
  /** How long a request may wait for a free connection (`timeouts.queue`). */
  queueTimeout: number
  /** TLS to an https:// origin (the upstream's `tls`); part of the pool's key (lib/proxy/pool-key.ts). */
  tls?: UpstreamTls
  /** The PROXY protocol header every connection starts with; its connections are then each one client's (lib/proxy/client-bound-pools.ts). */
  proxyProtocol?: ProxyProtocolVersion
  /** The name `origin`'s address was resolved from (servers from DNS): the TLS server name, and the Host where the backend's own is sent. */
  hostname?: string
  /** HTTP/1.1, or HTTP/2 over TLS (ALPN) or in clear text (prior knowledge); part of the pool's key. */
  protocol?: UpstreamProtocol
}

interface Entry {
  pool: Pool
  options: PoolOptions
  admission: Admission
}

/** The code of the error a request gets when it waited `timeouts.queue` for a connection; nothing was sent. */
export const QUEUE_TIMEOUT_CODE = 'GH_QUEUE_TIMEOUT'

type RequestOptions = Dispatcher.RequestOptions
// undici's own callback type: data is there whenever err is null.
type Callback = (err: Error | null, data: Dispatcher.ResponseData) => void

/**
 * Keep-alive connection pools to the backends, one undici Pool per origin and TLS settings
 * (lib/proxy/pool-key.ts), shared by every upstream that lists that origin with those settings. reply-from is given this object as its undici instance:
 * it calls request() with the origin that getUpstream chose, and we hand the request to
 * that origin's pool.
 */
export class OriginPools implements Pick<Dispatcher, 'request'> {
  private readonly pools = new Map<string, Entry>()
  private readonly bound = new ClientBoundPools()

  /** undici's request(), which reply-from calls with the origin that getUpstream chose; the promise form for completeness. */
  request (opts: RequestOptions): Promise<Dispatcher.ResponseData>
  request (opts: RequestOptions, cb: Callback): void
  request (opts: RequestOptions, cb?: Callback): Promise<Dispatcher.ResponseData> | undefined {
    if (cb === undefined) {
      return new Promise((resolve, reject) => this.request(opts, (err, data) => err === null ? resolve(data) : reject(err)))
    }
    applyTarget(opts)
    const key = carriedPoolKey(opts.headers, String(opts.origin))
    const entry = this.pools.get(key)
    if (entry === undefined) {
      // Only a backend that a reload removed between selection and dispatch gets here; nothing was sent.
      process.nextTick(fail, cb, Object.assign(new Error('no connection pool for origin'), { code: 'ECONNREFUSED' }))
      return
    }
    if (entry.options.hostname !== undefined) nameHost(opts, entry.options)
    this.dispatch(key, entry, opts, cb)
  }

  /**
   * Sends a request on its origin's pool once it has a slot there (lib/proxy/admission.ts). The slot
   * is held from dispatch until the response body ends or fails, which is when undici's
   * connection is free again.
   */
  private dispatch (key: string, entry: Entry, opts: RequestOptions, cb: Callback): void {
    if (opts.method === 'HEAD') {
      // undici closes the connection after every HEAD (in case a server sends a body anyway;
      // client-h1.js sets socket[kReset]) unless the request says reset: false. HEAD answers
      // carry no body (RFC 9110 §9.3.2); nginx keeps them on its upstream keep-alive too.
      opts.reset = false
    }
    const admission = entry.admission
    const signal = applySignal(opts)
    applyInterim(opts)
    if (signal?.aborted === true) {
      // The client left before a slot was even asked for: nothing is sent.
      process.nextTick(fail, cb, clientGone())
      return
    }
    let pool = entry.pool
    if (entry.options.proxyProtocol !== undefined && signal?.client !== undefined) {
      const own = this.bound.pool(key, entry.options, signal.client)
      if (own === undefined) {
        process.nextTick(fail, cb, clientGone())
        return
      }
      pool = own
    }
    if (admission.take()) {
      // The fast path: a free slot and no one ahead. The queue's closures live in queue(), so
      // that this path allocates none (a function's closures and their context are made on entry).
      send(entry, pool, opts, cb)
      return
    }
    queue(entry, pool, opts, cb, signal)
  }

  /**
   * Makes the pools match the wanted set. A pool whose options changed is replaced: new
   * requests go to the new one while the old one finishes its in-flight requests and then
   * closes (undici's Pool.close waits for them). Pools no longer wanted close the same way.
   */
  sync (wanted: ReadonlyMap<string, PoolOptions>): void {
    for (const [key, entry] of this.pools) {
      if (!wanted.has(key)) {
        this.pools.delete(key)
        // Waiting requests were never sent: they fail as queue timeouts and may go to another server.
        entry.admission.abandon()
        entry.pool.close().catch(() => {})
        this.bound.retire(key)
      }
    }
    for (const [key, options] of wanted) {
      const entry = this.pools.get(key)
      if (entry === undefined) {
        this.pools.set(key, { pool: this.create(options), options, admission: new Admission(inFlightLimit(options), options.queueTimeout) })
      } else if (entry.options.connections !== options.connections || entry.options.connectTimeout !== options.connectTimeout ||
        JSON.stringify(entry.options.tls) !== JSON.stringify(options.tls)) {
        // New TLS files (a rotated CA or client certificate) take a new pool: new connections only.
        const old = entry.pool
        entry.pool = this.create(options)
        entry.options = options
        old.close().catch(() => {})
        this.bound.retire(key)
      } else {
        entry.options = options
      }
      // The admission stays with the origin across a new pool: in-flight requests on the old
      // pool still hold their slots until they finish.
      if (entry !== undefined) {
        entry.admission.limit = inFlightLimit(options)
        entry.admission.timeout = options.queueTimeout
        entry.admission.drain()
      }
    }
  }

  async close (): Promise<void> {
    const entries = [...this.pools.values()]
    const pools = entries.map(e => e.pool)
    this.pools.clear()
    for (const e of entries) e.admission.abandon()
    await Promise.all([...pools.map(p => p.destroy().catch(() => {})), this.bound.close()])
  }

  private create (options: PoolOptions): Pool {
    if (options.proxyProtocol !== undefined) {
      // Used only by a request with no client connection to speak for: the gateway speaks for itself.
      return new Pool(options.origin, {
        connections: options.connections,
        connect: proxyProtocolConnector({ version: options.proxyProtocol, client: undefined, connectTimeout: options.connectTimeout, tls: options.tls, hostname: options.hostname }),
        pipelining: 1
      })
    }
    const tls = tlsConnectOptions(options.tls)
    // A server resolved from a name is reached at its address and verified against the name.
    if (options.hostname !== undefined && tls.servername === undefined) tls.servername = options.hostname
    if (options.protocol === 'h2' || options.protocol === 'h2c') {
      // One HTTP/2 connection multiplexes, POSTs and streamed bodies (gRPC calls) too
      // (lib/proxy/h2/share-connections.ts): undici's Pool opens another connection to the
      // server only once every open one carries as many streams as the server allows (at most
      // H2_STREAMS_PER_CONNECTION), and at most `connections` of them. h2 is agreed by ALPN ('h2' offered beside 'http/1.1', as
      // nginx's and HAProxy's `alpn h2,http/1.1`); h2c speaks HTTP/2 from the first byte.
      // Pool builds its connector from `connect` (useH2c there, as undici's H2CClient passes it
      // to Client; undici's connector type omits it).
      const connect = { timeout: options.connectTimeout, ...tls, allowH2: true, useH2c: options.protocol === 'h2c' }
      holdTrailersBehindData()
      drainOnGoaway()
      cancelOnAbort()
      shareConnections()
      return new Pool(options.origin, {
        connections: options.connections,
        connect: connect as Pool.Options['connect'],
        allowH2: true,
        pipelining: H2_STREAMS_PER_CONNECTION
      })
    }
    return new Pool(options.origin, {
      connections: options.connections,
      connect: { timeout: options.connectTimeout, ...tls },
      pipelining: 1
    })
  }
}

/** When several groups list one origin, its pool takes the larger connection count and the shorter connect and queue timeouts. */
export function mergePoolOptions (a: PoolOptions, b: PoolOptions): PoolOptions {
  return {
    origin: a.origin,
    connections: Math.max(a.connections, b.connections),
    connectTimeout: Math.min(a.connectTimeout, b.connectTimeout),
    queueTimeout: Math.min(a.queueTimeout, b.queueTimeout),
    // One key, one setting: the TLS settings, the PROXY protocol and the resolved name are part of the key.
    tls: a.tls,
    proxyProtocol: a.proxyProtocol,
    hostname: a.hostname,
    protocol: a.protocol
  }
}

/** Requests a pool may carry at once: one per HTTP/1.1 connection, a connection's streams for HTTP/2. */
function inFlightLimit (options: PoolOptions): number {
  return options.protocol === 'h2' || options.protocol === 'h2c' ? options.connections * H2_STREAMS_PER_CONNECTION : options.connections
}

/**
 * A server resolved from a name gets the name as its Host where the backend's own would be
 * sent (preserveHost false): the address undici would write names no virtual host.
 */
function nameHost (opts: RequestOptions, options: PoolOptions): void {
  const headers = opts.headers as Record<string, unknown> | null | undefined
  if (headers === null || headers === undefined || Array.isArray(headers)) return
  const origin = new URL(options.origin)
  const host = headers.host
  if (host === undefined || host === origin.host) {
    const port = origin.port === '' ? '' : `:${origin.port}`
    headers.host = `${String(options.hostname)}${port}`
  }
}

function clientGone (): Error {
  return Object.assign(new Error('the client went away'), { code: CLIENT_GONE_CODE })
}

/** Waits for a slot of the pool's admission (timeouts.queue at most), then sends. */
function queue (entry: Entry, pool: Pool, opts: RequestOptions, cb: Callback, signal: ReturnType<typeof applySignal>): void {
  const admission = entry.admission
  const waiter = admission.admit(() => send(entry, pool, opts, cb), () => {
    if (signal !== null) signal.removeListener('abort', leave)
    fail(cb, Object.assign(new Error('no connection to the server became free in time'), { code: QUEUE_TIMEOUT_CODE }))
  })
  // Queued: a client that leaves now takes its place in the queue with it, never dispatched.
  // The listener goes once it starts, when undici's own takes over.
  function leave (): void {
    if (waiter !== undefined && admission.leave(waiter)) fail(cb, clientGone())
  }
  if (waiter !== undefined && signal !== null) {
    signal.once('abort', leave)
    const start = waiter.start
    waiter.start = () => {
      signal.removeListener('abort', leave)
      start()
    }
  }
}

const kAdmission = Symbol('gatehouse.admission')
type HoldingBody = Dispatcher.ResponseData['body'] & { [kAdmission]?: Admission }

/**
 * Sends a request that holds a slot of its pool's admission. The slot goes back when the
 * response body closes (ended, failed or destroyed), or at once when no answer came; the body
 * carries its admission, so that one shared listener releases it.
 */
function send (entry: Entry, pool: Pool, opts: RequestOptions, cb: Callback): void {
  const admission = entry.admission
  if (entry.options.protocol === 'h2' || entry.options.protocol === 'h2c') {
    // HTTP/2 answers may end in trailers (gRPC's status): they go on with the body.
    requestKeepingTrailers(pool, opts, (err, data) => {
      if (err !== null) admission.release()
      else {
        hold(data.body, admission)
        carryTrailers(data.body, data.trailers)
      }
      cb(err, data)
    })
    return
  }
  pool.request(opts, (err, data) => {
    if (err !== null) admission.release()
    else hold(data.body, admission)
    cb(err, data)
  })
}

function hold (body: HoldingBody, admission: Admission): void {
  body[kAdmission] = admission
  body.once('close', releaseSlot)
}

function releaseSlot (this: HoldingBody): void {
  const admission = this[kAdmission]
  if (admission === undefined) return
  this[kAdmission] = undefined
  admission.release()
}

function fail (cb: Callback, err: Error): void {
  // undici's callbacks carry no data with an error; its type says data is always there.
  cb(err, undefined as unknown as Dispatcher.ResponseData)
}
