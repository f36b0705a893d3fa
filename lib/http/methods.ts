import { METHODS } from 'node:http'

/** The standard methods: what `OPTIONS *` lists. */
export const HTTP_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const

export type HttpMethod = typeof HTTP_METHODS[number]

/**
 * The methods a route takes when `match.methods` names none, and those it may name (as may
 * `filters.methods`): every method Node's HTTP parser reads (the extension methods too, as
 * M-SEARCH, PROPFIND, PURGE, QUERY: a proxy passes on methods it does not know, RFC 9110
 * §9.1, as nginx and HAProxy do), except CONNECT (a tunnel, never routed) and TRACE (it
 * echoes the request back, with the fields the gateway added; nginx answers it 405 too).
 * The standard ones first, so that a clash between two routes is named by one of them.
 */
export const ROUTE_METHODS: readonly string[] = [
  ...HTTP_METHODS,
  ...METHODS.filter(m => m !== 'CONNECT' && m !== 'TRACE' && !(HTTP_METHODS as readonly string[]).includes(m))
]
