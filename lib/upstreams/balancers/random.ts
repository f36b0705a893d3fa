import type { Backend } from '../backend'
import type { Balancer, PickContext } from './balancer'

/** Weighted random choice; stateless, so it suits many gateways sharing servers. */
export class RandomBalancer implements Balancer {
  private readonly random: () => number

  constructor (_servers: readonly Backend[], options: { random?: () => number } = {}) {
    // Injectable so that tests can be deterministic.
    this.random = options.random ?? Math.random
  }

  pick (candidates: readonly Backend[], ctx: PickContext): Backend {
    const now = ctx.now ?? Date.now()
    let total = 0
    for (const c of candidates) total += c.weightAt(now)
    let r = this.random() * total
    for (const c of candidates) {
      r -= c.weightAt(now)
      if (r < 0) return c
    }
    // Reached only through floating-point rounding (or an RNG returning 1).
    return candidates[candidates.length - 1]
  }
}
