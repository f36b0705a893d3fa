import type { IncomingMessage, ServerResponse } from 'node:http'
import { startBackend, startGateway, type TestBackend, type TestGateway } from '../../helper'
import type { GatehouseConfig } from '../../../lib/config'
import type { ResponseCache } from '../../../lib/cache/response-cache'

type Test = { teardown (fn: () => unknown): void }

export interface CachedGateway extends TestGateway {
  backend: TestBackend
  cache: ResponseCache
  /** Moves the cache's clock on by `ms` (freshness is read from it, not from Date.now). */
  advance (ms: number): void
}

/**
 * One backend whose answers the test writes, behind a gateway caching every route. `extra`
 * is merged into the config (a top-level cache of its own, more upstream keys, routes).
 */
export async function startCached (t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void, extra: Partial<GatehouseConfig> & { upstream?: Record<string, unknown>, route?: Record<string, unknown> } = {}): Promise<CachedGateway> {
  const backend = await startBackend(t, 'b')
  backend.handle(handler)
  const { upstream, route, ...rest } = extra
  const gw = await startGateway(t, {
    cache: {},
    ...rest,
    upstreams: { u: { servers: [{ url: backend.url }], ...upstream } },
    routes: [{ match: { path: '/*' }, upstream: 'u', ...route }]
  } as GatehouseConfig)
  const cache = gw.app.gatehouse.cache as ResponseCache
  let offset = 0
  // Undefined when no route caches (the plugin is then not there at all).
  if (cache !== undefined) cache.clock.now = () => Date.now() + offset
  return { ...gw, backend, cache, advance: ms => { offset += ms } }
}

/** A handler answering `body` with the given fields. */
export function answer (headers: Record<string, string | string[]>, body = 'hello'): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
    res.end(body)
  }
}
