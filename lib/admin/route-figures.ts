import { LatencyHistogram } from './latency-histogram'

/** What one route counts of the requests it sent to one group: plain numbers, read at scrape time. */
export class RouteCounts {
  /** By status class: index 1 for 1xx … 5 for 5xx. */
  readonly responses = [0, 0, 0, 0, 0, 0]
  readonly latency = new LatencyHistogram()
  /** gRPC calls by grpc-status label (lib/admin/grpc-label.ts: a bounded set). */
  readonly grpc = new Map<string, number>()
}

/**
 * The figures of one route, by the group each request went to (one, unless a route splits
 * between groups). The last group asked for is kept at hand: a route's requests nearly always
 * go to the same one, so the usual request costs a string comparison, not a map lookup.
 */
export class RouteFigures {
  private readonly byUpstream = new Map<string, RouteCounts>()
  private lastName: string | undefined
  private last: RouteCounts | undefined

  /** `label`: the route's name, or its index; `upstream`: the group it names, whose series exist from the start. */
  constructor (readonly label: string, upstream?: string) {
    if (upstream !== undefined) this.of(upstream)
  }

  of (upstream: string): RouteCounts {
    if (upstream === this.lastName) return this.last as RouteCounts
    let counts = this.byUpstream.get(upstream)
    if (counts === undefined) {
      counts = new RouteCounts()
      this.byUpstream.set(upstream, counts)
    }
    this.lastName = upstream
    this.last = counts
    return counts
  }

  /**
   * The counts by group, less those of groups no longer configured (`exists` says which are):
   * they are dropped here, so that a reload that removes a group removes its series too, as
   * the per-upstream metrics lose theirs, rather than keeping them forever.
   */
  * counts (exists: (upstream: string) => boolean): Generator<[string, RouteCounts]> {
    for (const [upstream, counts] of this.byUpstream) {
      if (exists(upstream)) {
        yield [upstream, counts]
        continue
      }
      this.byUpstream.delete(upstream)
      if (this.lastName === upstream) this.lastName = this.last = undefined
    }
  }
}

/** Every route's figures: one entry per declared route, so as many as the config has routes. */
export class RouteFigureTable {
  private readonly routes: RouteFigures[] = []

  add (label: string, upstream?: string): RouteFigures {
    const figures = new RouteFigures(label, upstream)
    this.routes.push(figures)
    return figures
  }

  all (): readonly RouteFigures[] {
    return this.routes
  }
}
