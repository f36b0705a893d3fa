/**
 * A setting that the top level, an upstream and a route may each give (the cache, compression):
 * the route's keys over its upstream's over the top level's. `false` on the route turns it off
 * whatever the others say; `false` on the upstream turns it off unless the route has its own.
 * Undefined when it is off for the route.
 */
export function layered<R extends object> (top: R | undefined, group: R | false | undefined, own: R | false | undefined): R | undefined {
  if (own === false) return undefined
  if (own === undefined && group === false) return undefined
  if (own === undefined && group === undefined && top === undefined) return undefined
  return { ...top, ...(group === false ? undefined : group), ...own } as R
}
