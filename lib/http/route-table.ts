import type { GatewayRoute } from '../config'
import { ROUTE_METHODS } from './methods'

export function routeMethods (route: GatewayRoute): string[] {
  return route.methods ?? [...ROUTE_METHODS]
}

/**
 * `api.example.com` or `*.example.com` as a RegExp for Fastify's host constraint:
 * case-insensitive (host names are, RFC 9110 §4.2.3) and with any port ignored. A leading
 * wildcard matches one or more labels, as nginx's `*.example.com` does.
 */
export function hostPattern (host: string): RegExp {
  const wildcard = host.startsWith('*.')
  const rest = (wildcard ? host.slice(2) : host).replace(/[.]/g, '\\.')
  return new RegExp(`^${wildcard ? '[^:/]+\\.' : ''}${rest}(:\\d+)?$`, 'i')
}

/** The path sent to the backend: the request's path (no query) less the route's stripPrefix. */
export function forwardPath (url: string, stripPrefix: string | undefined): string {
  const q = url.indexOf('?')
  let path = q === -1 ? url : url.slice(0, q)
  if (stripPrefix !== undefined && stripPrefix !== '' && path.startsWith(stripPrefix)) {
    const next = path.charCodeAt(stripPrefix.length)
    // "/v1" strips from "/v1" and "/v1/x", never from "/v10".
    if (Number.isNaN(next) || next === 47 /* / */) path = path.slice(stripPrefix.length)
    if (path === '') path = '/'
  }
  return path
}

/**
 * Whether a reload changes what the routes were declared from. The weights of a split are not
 * part of it: they apply to the running routes (lib/routing/split-table.ts), no restart needed.
 */
export function routeTableChanged (a: readonly GatewayRoute[], b: readonly GatewayRoute[]): boolean {
  return JSON.stringify(a.map(withoutWeights)) !== JSON.stringify(b.map(withoutWeights))
}

function withoutWeights (route: GatewayRoute): unknown {
  return route.split === undefined ? route : { ...route, split: route.split.map(t => t.name) }
}
