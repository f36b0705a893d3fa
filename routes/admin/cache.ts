import type { FastifyInstance } from 'fastify'
import type { ResponseCache } from '../../lib/cache/response-cache'

export interface CacheRouteOptions {
  cache: ResponseCache
  /** Called after every purge here (under workers: the others purge too). */
  onPurge?: (target: string, prefix: boolean) => void
}

const purge = {
  type: 'object',
  properties: { url: { type: 'string', minLength: 1 }, prefix: { type: 'string', minLength: 1 } },
  additionalProperties: false
} as const

/**
 * DELETE /cache drops stored responses after a deploy: `url` names one resource (every
 * variant, every group), `prefix` everything under it; "http://host/path" for one host,
 * "/path" for every host. Given in the query string or a JSON body. Answers how many went.
 */
export default async function cacheRoutes (admin: FastifyInstance, opts: CacheRouteOptions) {
  admin.delete<{ Querystring: { url?: string, prefix?: string }, Body: { url?: string, prefix?: string } | undefined }>('/cache', {
    // The body is optional (the query string will do), so it is checked here rather than by a
    // schema, which would refuse a DELETE without one.
    schema: { querystring: purge }
  }, async (request, reply) => {
    const body = typeof request.body === 'object' && request.body !== null ? request.body : {}
    const url = request.query.url ?? str(body.url)
    const prefix = request.query.prefix ?? str(body.prefix)
    if ((url === undefined) === (prefix === undefined)) {
      return await reply.code(400).send({ error: 'Bad Request', message: 'give exactly one of url or prefix' })
    }
    const purged = opts.cache.purge((url ?? prefix) as string, prefix !== undefined)
    if (purged === undefined) return await reply.code(400).send({ error: 'Bad Request', message: 'not an http(s) URL or a path starting with /' })
    opts.onPurge?.((url ?? prefix) as string, prefix !== undefined)
    return { purged }
  })
}

function str (v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}
