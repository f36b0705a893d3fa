import type { IncomingMessage } from 'node:http'
import { bySpecificity, RequestView, type MatchSpec } from './match-conditions'

/** The name of Gatehouse's route constraint on headers, cookies and query parameters. */
export const MATCH_CONSTRAINT = 'gatehouseMatch'

/**
 * A Fastify (find-my-way) constraint strategy, so that the router itself chooses among the
 * routes on one path by their header, cookie and query conditions.
 *
 * find-my-way derives every strategy in use for every request, before it walks the tree: the
 * derived value is therefore the request itself, which costs a property. The conditions are
 * tested only in `get`, which the router calls at a path some route with conditions is
 * declared on; requests to every other path (a host app's own routes too) never reach it.
 *
 * At such a path the router keeps the handlers whose constraints all pass and takes the one
 * with the most constraint kinds, the last declared among equals. So that its choice is ours,
 * a route with conditions carries this constraint alone (its host is tested here too,
 * match-conditions.ts), `get` answers with the single most specific route whose conditions
 * hold, and routes/proxy.ts declares the routes with conditions after those without: a
 * matching route with conditions wins over one with only a host, which wins over one with
 * neither.
 */
export const matchStrategy = {
  name: MATCH_CONSTRAINT,
  mustMatchWhenDerived: false,
  storage () {
    const bits = new Map<MatchSpec, number>()
    const ordered: MatchSpec[] = []
    return {
      // Called with a route's spec while the router builds a path's handler table, and with
      // a request (what deriveConstraint gave) when it routes.
      get (value: MatchSpec | IncomingMessage): number | null {
        const own = bits.get(value as MatchSpec)
        if (own !== undefined) return own
        if (ordered.length === 0 || !('headers' in value)) return null
        const req = value as IncomingMessage
        const view = new RequestView(req.headers, req.url ?? '/')
        for (const spec of ordered) if (spec.test(view)) return bits.get(spec) as number
        return null
      },
      set (spec: MatchSpec, value: number) {
        if (!bits.has(spec)) {
          ordered.push(spec)
          ordered.sort(bySpecificity)
        }
        bits.set(spec, value)
      }
    }
  },
  deriveConstraint (req: IncomingMessage): IncomingMessage {
    return req
  },
  validate (value: unknown) {
    if (value === null || typeof value !== 'object' || typeof (value as MatchSpec).test !== 'function') throw new Error('a gatehouseMatch constraint is a compiled match spec')
  }
}
