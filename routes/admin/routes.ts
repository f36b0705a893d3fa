import type { FastifyInstance } from 'fastify'
import type { Gatehouse } from '../../lib/upstreams/gatehouse'
import { splitWeightsProblem } from '../../lib/config/normalize/split'
import { AdminBadRequestError, RouteNotSplitError, UnknownRouteError } from '../../lib/errors'
import { withShares } from '../../lib/routing/split-table'

export interface RoutesRouteOptions {
  gatehouse: Gatehouse
}

/**
 * The routes as they run, and the weights of a split route changed at run time:
 *   GET /routes                    every route: index, path, host, methods, upstream, and a split's weights in force
 *   PATCH /routes/:index/split     body { "weights": { "v1": 90, "v2": 10 } }: some or all of the route's groups
 * A change applies to the next request and holds until the next reload, which makes the file
 * the truth again (as runtime server changes do); GET /config exports it. With admin.sync,
 * fleet sync shares it with the other instances (plugins/ops/fleet-sync.ts).
 */
export default async function routes (admin: FastifyInstance, opts: RoutesRouteOptions) {
  const { gatehouse } = opts

  admin.get('/routes', async () => ({
    routes: gatehouse.config.routes.map(r => ({
      index: r.index,
      path: r.path,
      ...(r.host !== undefined && { host: r.host }),
      ...(r.methods !== undefined && { methods: r.methods }),
      ...(r.conditions !== undefined && { conditions: r.conditions }),
      ...(r.upstream !== undefined && { upstream: r.upstream }),
      ...(r.split !== undefined && { split: withShares(gatehouse.splits.get(r.index)?.list() ?? r.split) })
    }))
  }))

  admin.patch<{ Params: { index: string }, Body: { weights?: unknown } }>('/routes/:index/split', async request => {
    const index = Number(request.params.index)
    const route = /^\d+$/.test(request.params.index) ? gatehouse.config.routes[index] : undefined
    if (route === undefined) throw new UnknownRouteError(request.params.index)
    const split = gatehouse.splits.get(index)
    if (split === undefined) throw new RouteNotSplitError(request.params.index)
    const body = request.body
    if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).some(k => k !== 'weights')) {
      throw new AdminBadRequestError('the body is { "weights": { "<group>": <weight>, ... } }')
    }
    const problem = splitWeightsProblem(split.list(), body.weights)
    if (problem !== undefined) throw new AdminBadRequestError(problem)
    const after = gatehouse.splits.set(index, body.weights as Record<string, number>, request.ip)
    return { index, path: route.path, split: withShares(after) }
  })
}
