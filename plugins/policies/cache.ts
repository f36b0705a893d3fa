import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { pipeline } from 'node:stream'
import { randomUUID } from 'node:crypto'
import type { CacheSettings } from '../../lib/config'
import { cacheMaxSize, routeCache } from '../../lib/config/normalize/cache'
import { ResponseCache } from '../../lib/cache/response-cache'
import type { CacheEntry } from '../../lib/cache/store'
import { primaryKey } from '../../lib/cache/key'
import { invalidatedKeys, isUnsafe } from '../../lib/cache/invalidation'
import { singleRange } from '../../lib/cache/range'
import { Capture } from '../../lib/cache/capture'
import type { CacheResult } from '../../lib/cache/stats'
import { notModified, notModifiedHeaders } from '../../lib/cache/conditional'
import { evaluate, flatten, policyRequest, revalidated, servedHeaders, staleAllowed, worthStoring, type Headers, type PolicyRequest } from '../../lib/cache/policy'
import { OWN_TARGETED_FIELD } from '../../lib/cache/targeted'
import { withoutHopByHop } from '../../lib/http/forward-headers'
import { isUpgrade } from '../../lib/http/upgrade-request'
import type { ProxyTap } from '../proxy/forward'
import type { HookFactory } from './pipeline'

declare module '../../lib/upstreams/gatehouse' {
  interface Gatehouse {
    /** The response cache, when any route caches: purge, stats, and its clock for tests. */
    cache?: ResponseCache
  }
}

/** Marks the gateway's own background refresh (stale-while-revalidate); its value is one-use and random. */
const REFRESH_HEADER = 'x-gatehouse-cache-refresh'

/**
 * The response cache, in front of server selection: a preHandler on each cached route, after
 * the policies (plugins/policies/pipeline.ts: the rate limit's onRequest has passed, the sticky hint is read),
 * answers from the store when it can, so a hit needs no server at all. Otherwise the request
 * goes on to the handler and reply.forward with a ProxyTap (plugins/proxy/forward.ts) that stores
 * the answer, answers 304s from the store, and falls back to a stale entry when no server can
 * answer. Registered only when some route caches: others pay nothing.
 */
async function cache (fastify: FastifyInstance) {
  const config = fastify.gatehouse.config
  if (!config.routes.some(r => routeCache(config, r) !== undefined)) return
  const responses = new ResponseCache(cacheMaxSize(config))
  fastify.gatehouse.cache = responses
  /** One-use tokens of background refreshes in flight, each to the key it refreshes. */
  const refreshes = new Map<string, string>()

  const cacheLookupStep: HookFactory<'preHandler'> = route => {
    const settings = routeCache(config, route)
    // A split route's group is chosen per request (its split step runs first): each group's answers are kept apart.
    return route.upstream === undefined || settings === undefined ? undefined : lookup(route.split !== undefined ? null : route.upstream, settings)
  }
  fastify.gatehousePipeline.provide({ 'cache-lookup': cacheLookupStep })

  const lookup = (fixed: string | null, settings: CacheSettings): preHandlerAsyncHookHandler => async function cacheLookup (request, reply) {
    const name = fixed ?? request.chosenUpstream
    if (name === null) return
    const upstream = fastify.gatehouse.registry.get(name)
    if (upstream === undefined) return
    // Only GET and HEAD (RFC 9111 §2). A Range is answered from a stored complete response
    // (below), never stored itself (§3.4); with If-Range, or on HEAD, it goes on untouched.
    const range = request.headers.range
    if ((request.method !== 'GET' && request.method !== 'HEAD') || isUpgrade(request.raw) || (range !== undefined && (request.method !== 'GET' || request.headers['if-range'] !== undefined))) {
      reply.header('x-cache', 'BYPASS')
      responses.stats.count(name, 'BYPASS')
      if (isUnsafe(request.method)) request.proxyTap = invalidating(name, request)
      return
    }
    const token = request.headers[REFRESH_HEADER]
    const refreshing = typeof token === 'string' && refreshes.has(token)
    if (token !== undefined) delete request.headers[REFRESH_HEADER]

    const primary = primaryKey(name, request.headers.host ?? '', request.url)
    // The client's own fields, before any validator of ours is added for a revalidation.
    const asked = policyRequest(request.url, request.headers)
    if (range !== undefined) {
      const entry = responses.store.get(primary, request.headers)
      if (entry !== undefined && entry.status === 200) {
        const { response, revalidation } = evaluate(entry.policy, asked)
        if (response !== undefined && revalidation === undefined) return answer(request, reply, entry, 'HIT', asked, range)
      }
      reply.header('x-cache', 'BYPASS')
      responses.stats.count(name, 'BYPASS')
      return
    }
    for (let round = 0; ; round++) {
      const entry = responses.store.get(primary, request.headers)
      if (entry !== undefined && !refreshing) {
        const { response, revalidation } = evaluate(entry.policy, asked)
        if (response !== undefined && revalidation === undefined) return answer(request, reply, entry, 'HIT', asked)
        if (response !== undefined || staleAllowed(entry.policy, asked.headers, 'revalidate', settings.staleWhileRevalidate)) {
          // stale-while-revalidate (RFC 5861 §3): answer now, refresh behind it, once per key.
          refreshBehind(request, entry)
          return answer(request, reply, entry, 'STALE', asked)
        }
      }
      const key = entry?.key ?? responses.store.keyFor(primary, request.headers)
      const done = responses.coalescer.lead(key)
      if (done === undefined && round === 0 && !refreshing) {
        await responses.coalescer.wait(key, settings.lockTimeout)
        continue
      }
      if (done === undefined && refreshing) return await reply.code(204).send()
      reply.raw.once('close', () => done?.())
      if (entry !== undefined) revalidateWith(request.headers, entry)
      request.proxyTap = tap(name, settings, primary, asked, entry, done ?? noop)
      return
    }
  }

  function answer (request: FastifyRequest, reply: FastifyReply, entry: CacheEntry, result: CacheResult, asked: PolicyRequest, range?: string) {
    const upstream = fastify.gatehouse.registry.get(entry.upstream)
    if (upstream !== undefined) request.upstream = upstream
    responses.stats.count(entry.upstream, result)
    const headers = servedHeaders(entry.policy)
    // RFC 9110 §13.2.2: the conditional is evaluated before the Range.
    if (notModified(asked.headers, headers)) {
      return reply.code(304).headers(notModifiedHeaders(headers)).header('x-cache', result).header('x-request-id', request.requestId).send()
    }
    const part = range === undefined ? undefined : singleRange(range, entry.body.length)
    if (part === 'unsatisfiable') {
      return reply.code(416).header('content-range', `bytes */${entry.body.length}`).header('x-cache', result).header('x-request-id', request.requestId).send()
    }
    if (part !== undefined) {
      // A view of the stored bytes, not a copy.
      return reply.code(206).headers(headers).header('content-range', `bytes ${part.start}-${part.end}/${entry.body.length}`)
        .header('content-length', part.end - part.start + 1).header('x-cache', result).header('x-request-id', request.requestId)
        .send(entry.body.subarray(part.start, part.end + 1))
    }
    return reply.code(entry.status).headers(headers).header('x-cache', result).header('x-request-id', request.requestId).send(entry.body)
  }

  function tap (name: string, settings: CacheSettings, primary: string, asked: PolicyRequest, entry: CacheEntry | undefined, done: () => void): ProxyTap {
    return {
      response (proxyReply, res) {
        const reply = proxyReply as unknown as FastifyReply
        const status = res.statusCode
        const headers = stored(res.headers as Headers)
        const request = reply.request as unknown as FastifyRequest
        if (entry !== undefined && status === 304) {
          // RFC 9111 §4.3.4: a 304 for the stored response refreshes its fields and its age.
          const { policy, modified } = revalidated(entry.policy, asked, { status, headers })
          if (!modified) {
            res.stream.resume()
            const fresh = responses.store.refresh(entry, policy)
            done()
            dropBackendFields(reply, res.headers as Headers)
            answer(request, reply, fresh, 'REVALIDATED', asked)
            return null
          }
        }
        if (status >= 500 && entry !== undefined && staleAllowed(entry.policy, asked.headers, 'error', settings.staleIfError)) {
          res.stream.destroy()
          done()
          dropBackendFields(reply, res.headers as Headers)
          answer(request, reply, entry, 'STALE', asked)
          return null
        }
        reply.header('x-cache', 'MISS')
        // Aimed at this cache alone (RFC 9213 §2.1): read here, not passed on.
        reply.removeHeader(OWN_TARGETED_FIELD)
        responses.stats.count(name, 'MISS')
        const policy = responses.policy(asked, { status, headers })
        const length = Number(headers['content-length'] ?? 0)
        if (request.method === 'HEAD' || !worthStoring(policy, headers) || length > settings.maxEntrySize) {
          // A newer answer replaces the stored one even when it is not kept itself (RFC 9111 §4.4 in spirit).
          if (entry !== undefined && request.method !== 'HEAD') responses.store.delete(entry.key)
          done()
          return res.stream
        }
        const capture = new Capture(settings.maxEntrySize, body => {
          if (body !== null) {
            const host = String(asked.headers.host ?? '').toLowerCase()
            responses.store.set({ primary, upstream: name, host, target: asked.url as string, status, policy, body }, asked.headers)
          }
          done()
        })
        pipeline(res.stream, capture, noop)
        return capture
      },
      failed (proxyReply) {
        const reply = proxyReply as unknown as FastifyReply
        const request = reply.request as unknown as FastifyRequest
        done()
        if (entry === undefined || !staleAllowed(entry.policy, asked.headers, 'error', settings.staleIfError)) return false
        answer(request, reply, entry, 'STALE', asked)
        return true
      }
    }
  }

  /** On a successful unsafe request, drops what it may have changed (RFC 9111 §4.4). */
  function invalidating (name: string, request: FastifyRequest): ProxyTap {
    return {
      response (_reply, res) {
        const host = request.headers.host ?? ''
        for (const key of invalidatedKeys(name, host, request.url, res.statusCode, res.headers as Headers)) responses.store.invalidate(key)
        return res.stream
      },
      failed: () => false
    }
  }

  /** A background request through the same route, marked so that it skips the store and revalidates (answered to no one). */
  function refreshBehind (request: FastifyRequest, entry: CacheEntry): void {
    for (const key of refreshes.values()) if (key === entry.key) return
    const token = randomUUID()
    refreshes.set(token, entry.key)
    const headers: Record<string, string> = { ...(flatten(request.headers, false) as Record<string, string>), [REFRESH_HEADER]: token }
    delete headers['if-none-match']
    delete headers['if-modified-since']
    fastify.inject({ method: 'GET', url: request.url, headers })
      .catch(err => fastify.log.warn({ err }, 'cache refresh failed'))
      .finally(() => refreshes.delete(token))
  }
}

/**
 * The validators of the stored response replace the client's (RFC 9111 §4.3.1): the backend's
 * 304 then speaks of what is stored, and the client's own conditional is answered from it.
 */
function revalidateWith (headers: FastifyRequest['headers'], entry: CacheEntry): void {
  const stored = entry.policy.responseHeaders()
  delete headers['if-none-match']
  delete headers['if-modified-since']
  if (stored.etag !== undefined) headers['if-none-match'] = String(stored.etag)
  else if (stored['last-modified'] !== undefined) headers['if-modified-since'] = String(stored['last-modified'])
}

/** The backend's fields as stored: no hop-by-hop ones, and no request id (each answer gets its own). */
function stored (headers: Headers): Headers {
  const out = flatten(withoutHopByHop(headers))
  delete out['x-request-id']
  return out
}

/** reply-from copied the backend's fields onto the reply before the tap saw them; an answer from the store takes them off. */
function dropBackendFields (reply: FastifyReply, headers: Headers): void {
  for (const name in headers) reply.removeHeader(name)
}

function noop (): void {}

export default fp(cache, { fastify: '5.x', name: 'gatehouse-cache', dependencies: ['gatehouse-pipeline', 'gatehouse-upstreams', 'gatehouse-forward'] })
