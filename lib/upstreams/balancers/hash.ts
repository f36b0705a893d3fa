import { createHash } from 'node:crypto'
import type { Backend } from '../backend'
import type { Balancer, PickContext } from './balancer'

/** Ring points per unit of weight; ketama's 160 keeps the spread within a few percent. */
const POINTS_PER_WEIGHT = 160
/** Each md5 digest is 16 bytes, cut into four 32-bit points as ketama does. */
const POINTS_PER_DIGEST = 4

/**
 * FNV-1a over the key's UTF-16 code units, then murmur3's finalizer. FNV-1a alone
 * flips only a few bits, mostly low ones, between keys that differ in their last
 * character ("user-1", "user-2"), which would cluster such keys on the ring.
 */
export function hash32 (key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Consistent hashing on a ketama ring: a key goes to the first point clockwise from
 * its hash whose server is a candidate. Removing a server, or leaving it out of the
 * candidates while it is down, moves only the keys that were on it.
 *
 * The ring is built once from the configured servers and their weights at that time;
 * a reload that changes them needs a new balancer. Slow start does not apply, as in Envoy
 * (ring hash and maglev have no slow_start_config): the keys of a server that comes back are
 * its own, and moving a growing share of them to it would break their affinity many times over.
 */
export class HashBalancer implements Balancer {
  /** Sorted point positions; owners[i] holds the point at points[i]. */
  private readonly points: Uint32Array
  private readonly owners: Backend[]

  constructor (servers: readonly Backend[]) {
    const ring: Array<{ point: number, owner: Backend }> = []
    for (const server of servers) {
      const digests = Math.ceil(server.weight * POINTS_PER_WEIGHT / POINTS_PER_DIGEST)
      for (let i = 0; i < digests; i++) {
        const d = createHash('md5').update(`${server.id}-${i}`).digest()
        for (let k = 0; k < POINTS_PER_DIGEST; k++) ring.push({ point: d.readUInt32LE(k * 4), owner: server })
      }
    }
    // Ids break ties between colliding points, so the ring does not depend on server order.
    ring.sort((a, b) => a.point - b.point || (a.owner.id < b.owner.id ? -1 : a.owner.id > b.owner.id ? 1 : 0))
    this.points = Uint32Array.from(ring, e => e.point)
    this.owners = ring.map(e => e.owner)
  }

  pick (candidates: readonly Backend[], ctx: PickContext): Backend {
    const n = this.points.length
    if (n === 0) return candidates[0]
    const h = hash32(ctx.hashKey ?? '')

    // First point at or after h; past the last point the ring wraps to index 0.
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.points[mid] < h) lo = mid + 1
      else hi = mid
    }

    for (let step = 0; step < n; step++) {
      const owner = this.owners[(lo + step) % n]
      // Candidate lists are short, so a linear includes() beats building a Set per request.
      if (candidates.includes(owner)) return owner
    }
    // No candidate is on the ring: a server added after the ring was built.
    return candidates[0]
  }
}
