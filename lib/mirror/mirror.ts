import type { Dispatcher } from 'undici'
import type { Readable } from 'node:stream'
import type { MirrorOptions } from '../config/types'
import type { Backend } from '../upstreams/backend'
import type { KeySource } from '../upstreams/hash-key'
import type { Upstream } from '../upstreams/upstream'
import { forwardRequestHeaders } from '../http/forward-headers'
import { heldWhole } from '../http/body-kind'
import { carryPoolKey } from '../proxy/pool-key'
import { QUEUE_TIMEOUT_CODE } from '../proxy/origin-pools'
import { mirrorCounts } from './counts'

/** What a copy is made from: the client's request as the gateway holds it. */
export interface MirrorSource extends KeySource {
  method: string
  /** What the body parser handed on (lib/http/body-kind.ts). */
  body: unknown
  protocol: 'http' | 'https'
  requestId: string
}

/** The groups by name (the registry), looked up per copy so that a reload's changes apply at once. */
export interface MirrorGroups {
  get (name: string): Upstream | undefined
}

/** The origin pools (lib/proxy/origin-pools.ts): the copy goes through the same admission and connections as any request. */
export interface MirrorPools {
  request (opts: Dispatcher.RequestOptions, cb: (err: Error | null, data: Dispatcher.ResponseData) => void): void
}

// undici's refusals of a request it was handed (a header value it will not send): no server saw it.
const REFUSED_ON_THE_WAY_OUT = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED'])

/**
 * One route's mirror policy: a copy of a share of its requests to another group,
 * fire-and-forget, as nginx's `mirror` and Envoy's request_mirror_policies do. The copy is
 * dispatched and never waited for: its answer is read and thrown away, its failure is caught
 * in a callback, and nothing it does reaches the client's request, which holds no reference to it.
 *
 * The copy's server is chosen by the mirror group's balancer among its ready servers, and its
 * outcome feeds that group's passive health (a failing mirror server is ejected from the mirror
 * group); the route's own group and its retry budget are never touched.
 *
 * Bodies: only a body the gateway already holds whole (up to `retryBodyLimit`, or
 * `limits.requestBuffer`) is copied, from those held bytes, and only up to `maxBodySize`. A
 * streamed body is never teed: a tee either slows the client's upload to the mirror's pace or
 * buffers for it without bound, and the stream the backend reads would no longer be the
 * client's alone. Such a request is not copied at all (a copy without its body would be
 * another request), and counted `skipped`.
 */
export class Mirror {
  private inFlight = 0

  constructor (
    private readonly options: MirrorOptions,
    private readonly groups: MirrorGroups,
    private readonly pools: MirrorPools,
    private readonly random: () => number = Math.random,
    private readonly onFailure?: (upstream: Upstream, backend: Backend, code: string) => void
  ) {}

  /** Copies of this route's requests in flight now. */
  get pending (): number {
    return this.inFlight
  }

  /**
   * Sends a copy of `req` to `target` (the path and query as the route's backend gets them)
   * when it is sampled and can be sent. Returns at once; never throws for the copy's sake.
   */
  offer (req: MirrorSource, target: string): void {
    const { percent, maxBodySize, maxInFlight } = this.options
    if (percent < 100 && this.random() * 100 >= percent) return
    const upstream = this.groups.get(this.options.upstream)
    // Removed by a reload since the routes were declared: nowhere to copy to, nothing to count on.
    if (upstream === undefined) return
    const counts = mirrorCounts(upstream)
    // Fastify reads no GET or HEAD body, and the backend gets none: neither does the copy.
    const bodyless = req.method === 'GET' || req.method === 'HEAD' || req.body === undefined || req.body === null
    const body = bodyless ? undefined : heldWhole(req.body)
    if (!bodyless && (body === undefined || body.length > maxBodySize)) {
      counts.skipped++
      return
    }
    if (this.inFlight >= maxInFlight) {
      counts.dropped++
      return
    }
    const backend = upstream.select(req)
    if (backend === undefined) {
      counts.dropped++
      return
    }
    this.send(upstream, backend, req, target, body)
  }

  private send (upstream: Upstream, backend: Backend, req: MirrorSource, target: string, body: Buffer | undefined): void {
    const counts = mirrorCounts(upstream)
    const { preserveHost, timeouts } = upstream.options
    const clientHost = req.headers.host as string | undefined
    const headers = forwardRequestHeaders(req.headers, { ip: req.ip, protocol: req.protocol, host: clientHost, requestId: req.requestId }, preserveHost)
    // As for the route's backend: the client's Host, or the server's own as reply-from writes it
    // (a URL's host, without a default port), which the pools replace with a resolved server's
    // name. Envoy appends "-shadow" to it; that would send a shadow behind name-based virtual
    // hosting to no site, so the Host is left as the group says.
    if (!preserveHost || clientHost === undefined) headers.host = new URL(backend.origin).host
    if (body === undefined) delete headers['content-length']
    // An HTTP/2 client's pseudo-headers (:method, :path, …) are no headers to send on (reply-from drops them too).
    for (const name in headers) if (name.charCodeAt(0) === 58) delete headers[name]
    carryPoolKey(headers, backend.poolKey)

    this.inFlight++
    backend.inflight++
    backend.attempts++
    counts.sent++
    let open = true
    const finish = (): void => {
      if (!open) return
      open = false
      this.inFlight--
      backend.inflight--
    }
    const failed = (err: Error): void => {
      finish()
      counts.failed++
      const code = errorCode(err)
      this.onFailure?.(upstream, backend, code)
      // Not charged to the server: a request undici would not send (no server saw it), or a
      // busy server, which is not a failing one (as for any request; counted for the group).
      if (REFUSED_ON_THE_WAY_OUT.has(code)) return
      if (code === QUEUE_TIMEOUT_CODE) upstream.queueTimeouts++
      else upstream.attemptFailed(backend, Date.now())
    }
    try {
      this.pools.request({
        origin: backend.origin,
        path: target,
        method: req.method as Dispatcher.HttpMethod,
        headers: headers as Record<string, string>,
        body,
        // The mirror group's own response timeout, for the head and for each pause of the body.
        headersTimeout: timeouts.response,
        bodyTimeout: timeouts.response
      }, (err, data) => {
        if (err !== null) {
          failed(err)
          return
        }
        counts.answered++
        upstream.backends.recordSuccess(backend)
        discard(data.body, timeouts.response, finish)
      })
    } catch (err) {
      failed(err as Error)
    }
  }
}

/**
 * Reads an answer nobody wants to its end, so that its connection goes back to the pool
 * (destroying it would close the connection). A body that trickles for longer than `limit`
 * in all is cut: the copy's slot is not held for ever by a server that never finishes.
 */
function discard (body: Readable, limit: number, done: () => void): void {
  // Its failure (reset mid-body, body timeout) is as unimportant as its bytes.
  body.on('error', noop)
  const timer = setTimeout(() => body.destroy(), limit)
  timer.unref()
  body.once('close', () => {
    clearTimeout(timer)
    done()
  })
  body.resume()
}

function errorCode (error: Error): string {
  const { code, cause } = error as Error & { code?: string, cause?: { code?: string } }
  return cause?.code ?? code ?? ''
}

function noop (): void {}
