import type { Backend } from '../backend'

/** What a balancer may know of the request it chooses for. */
export interface PickContext {
  /** The request's hash key (from the upstream's hashKey); only the hash balancer reads it. */
  hashKey?: string
  /** The selection's clock reading, for slow start (Backend.weightAt); Date.now() when unset. */
  now?: number
}

/**
 * Chooses one server among candidates. The caller has already removed every server
 * that is not ready or was already tried for this request, so `candidates` is never
 * empty and every entry may be used. A balancer keeps only its own bookkeeping
 * (current weights, a ring, a counter); it never decides readiness.
 */
export interface Balancer {
  pick (candidates: readonly Backend[], ctx: PickContext): Backend
}

/** Builds a balancer for the full, configured server list of one upstream (primaries and backups). */
export type BalancerFactory = (servers: readonly Backend[], options?: { random?: () => number }) => Balancer
