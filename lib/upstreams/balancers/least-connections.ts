import type { Backend } from '../backend'
import type { Balancer, PickContext } from './balancer'

/**
 * True when a carries less load per unit of effective weight than b (weights are > 0; below
 * the configured one during slow start, which is how Envoy's least-request applies it).
 */
export function lessLoaded (a: Backend, b: Backend, now: number): boolean {
  // Cross-multiplied so that no division is involved.
  return a.inflight * b.weightAt(now) < b.inflight * a.weightAt(now)
}

/**
 * Sends each request to the server with the fewest in-flight requests relative to
 * its weight. Ties are common (all idle at low load), and always picking the first
 * would pile every request on one server, so ties rotate.
 */
export class LeastConnectionsBalancer implements Balancer {
  private rotation = 0

  // The server list is not needed: the in-flight counts live on the Backends.
  constructor (_servers?: readonly Backend[]) {}

  pick (candidates: readonly Backend[], ctx: PickContext): Backend {
    const now = ctx.now ?? Date.now()
    // Two passes instead of collecting the tied ones, so a pick allocates nothing.
    let best = candidates[0]
    let tied = 1
    for (let i = 1; i < candidates.length; i++) {
      const c = candidates[i]
      if (lessLoaded(c, best, now)) {
        best = c
        tied = 1
      } else if (!lessLoaded(best, c, now)) {
        tied++
      }
    }
    if (tied === 1) return best

    // Advanced only on ties, so picks without a tie do not skew the rotation.
    let skip = this.rotation++ % tied
    for (const c of candidates) {
      if (!lessLoaded(best, c, now) && !lessLoaded(c, best, now)) {
        if (skip === 0) return c
        skip--
      }
    }
    return best
  }
}
