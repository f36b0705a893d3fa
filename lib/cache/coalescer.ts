interface Flight {
  landed: Promise<void>
  land: () => void
}

/**
 * Collapses concurrent misses for one key into one backend request, as nginx's
 * proxy_cache_lock does: the first request leads and fetches; the others wait until it has
 * stored its answer (or found it not storable, or failed), bounded by a timeout after which
 * they go on their own.
 */
export class Coalescer {
  private readonly flights = new Map<string, Flight>()
  /** Requests waiting on another's fetch right now. */
  waiting = 0

  /** Leads a fetch for `key`: the returned function ends it (safe to call twice). Undefined when one is under way. */
  lead (key: string): (() => void) | undefined {
    if (this.flights.has(key)) return undefined
    let land!: () => void
    const landed = new Promise<void>(resolve => { land = resolve })
    const flight: Flight = { landed, land }
    this.flights.set(key, flight)
    return () => {
      if (this.flights.get(key) === flight) this.flights.delete(key)
      flight.land()
    }
  }

  /** Waits for the fetch under way for `key` to end, at most `timeout` ms; true when it ended. */
  async wait (key: string, timeout: number): Promise<boolean> {
    const flight = this.flights.get(key)
    if (flight === undefined) return true
    this.waiting++
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        flight.landed.then(() => true),
        new Promise<boolean>(resolve => { timer = setTimeout(resolve, timeout, false) })
      ])
    } finally {
      clearTimeout(timer)
      this.waiting--
    }
  }
}
