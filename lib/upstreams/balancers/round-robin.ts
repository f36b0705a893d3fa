import type { Backend } from '../backend'
import type { Balancer, PickContext } from './balancer'

/**
 * Smooth weighted round robin, as nginx's upstream module does it: with weights
 * 5,1,1 it yields a a b a c a a rather than a burst of five a's, so a heavy server
 * never takes a run of requests back to back.
 *
 * Only candidates take part in a pick, so a server that is down or already tried
 * keeps its current weight untouched and rejoins where it left off.
 */
export class RoundRobinBalancer implements Balancer {
  // Keyed by id, not held on Backend: the state belongs to this algorithm alone.
  private readonly current = new Map<string, number>()

  constructor (servers: readonly Backend[]) {
    for (const s of servers) this.current.set(s.id, 0)
  }

  pick (candidates: readonly Backend[], ctx: PickContext): Backend {
    const now = ctx.now ?? Date.now()
    let best = candidates[0]
    let bestWeight = -Infinity
    let total = 0
    for (const c of candidates) {
      // The effective weight, lowered during slow start, as nginx's effective_weight is lowered after failures.
      const weight = c.weightAt(now)
      const w = (this.current.get(c.id) ?? 0) + weight
      this.current.set(c.id, w)
      total += weight
      // Strictly greater: on ties the earliest candidate wins, keeping picks deterministic.
      if (w > bestWeight) {
        best = c
        bestWeight = w
      }
    }
    this.current.set(best.id, bestWeight - total)
    return best
  }
}
