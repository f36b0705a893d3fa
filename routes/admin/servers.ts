import type { FastifyInstance } from 'fastify'
import type { Gatehouse } from '../../lib/upstreams/gatehouse'
import type { Backend } from '../../lib/upstreams/backend'
import type { Upstream } from '../../lib/upstreams/upstream'
import { snapshot } from '../../lib/admin/upstream-snapshot'
import { UnknownServerError, UnknownUpstreamError } from '../../lib/errors'

export interface ServersRouteOptions {
  gatehouse: Gatehouse
}

interface Params { name: string, id: string }

/**
 * Runtime changes to one group's servers, as HAProxy's `add server` and
 * `set server … state`. The work is lib/upstreams/runtime-servers.ts; this file is HTTP only. Ids in
 * paths are URL-encoded (they may hold ":" and "[…]"); Fastify's router decodes them.
 */
export default async function servers (admin: FastifyInstance, opts: ServersRouteOptions) {
  const runtime = opts.gatehouse.runtime

  const state = (upstream: Upstream, backend: Backend) => {
    const [group] = snapshot([upstream], Date.now())
    const server = group.servers.find(s => s.id === backend.id)
    return { ...server, removing: runtime.isRemoving(backend), link: link(upstream.name, backend.id) }
  }
  const groupOf = (name: string): Upstream => {
    const upstream = opts.gatehouse.registry.get(name)
    if (upstream === undefined) throw new UnknownUpstreamError(name)
    return upstream
  }

  admin.post<{ Params: Pick<Params, 'name'> }>('/upstreams/:name/servers', async (request, reply) => {
    const backend = runtime.add(request.params.name, request.body, request.ip)
    const upstream = groupOf(request.params.name)
    return await reply.code(201).header('location', link(upstream.name, backend.id)).send(state(upstream, backend))
  })

  // The link a DELETE answers with: 200 while the server drains, 404 once it is gone.
  admin.get<{ Params: Params }>('/upstreams/:name/servers/:id', async request => {
    const upstream = groupOf(request.params.name)
    const backend = upstream.backends.get(request.params.id)
    if (backend === undefined || backend.draining) throw new UnknownServerError(request.params.id, upstream.name)
    return state(upstream, backend)
  })

  admin.patch<{ Params: Params }>('/upstreams/:name/servers/:id', async request => {
    const backend = runtime.update(request.params.name, request.params.id, request.body, request.ip)
    return state(groupOf(request.params.name), backend)
  })

  admin.delete<{ Params: Params }>('/upstreams/:name/servers/:id', async (request, reply) => {
    const backend = runtime.remove(request.params.name, request.params.id, request.ip)
    const upstream = groupOf(request.params.name)
    return await reply.code(202).header('location', link(upstream.name, backend.id)).send(state(upstream, backend))
  })
}

function link (name: string, id: string): string {
  return `/upstreams/${encodeURIComponent(name)}/servers/${encodeURIComponent(id)}`
}
