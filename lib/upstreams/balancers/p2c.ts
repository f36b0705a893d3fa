import type { Backend } from '../backend'
import type { Balancer, PickContext } from './balancer'
import { lessLoaded } from './least-connections'

/**
 * Power of two random choices: the less loaded of two random servers. Nearly as good
 * as least-connections, but without every gateway (or every burst of requests that
 * see the same stale counts) herding onto the one least loaded server.
 */
export class P2CBalancer implements Balancer {
  private readonly random: () => number

  constructor (_servers: readonly Backend[], options: { random?: () => number } = {}) {
    this.random = options.random ?? Math.random
  }

  pick (candidates: readonly Backend[], ctx: PickContext): Backend {
    const n = candidates.length
    if (n === 1) return candidates[0]
    const i = this.index(n)
    // Drawn from the n - 1 others, then shifted past i, so the two are always distinct.
    let j = this.index(n - 1)
    if (j >= i) j++
    const a = candidates[i]
    const b = candidates[j]
    return lessLoaded(b, a, ctx.now ?? Date.now()) ? b : a
  }

  private index (n: number): number {
    // min() guards against an injected RNG that returns 1.
    return Math.min(n - 1, Math.floor(this.random() * n))
  }
}
