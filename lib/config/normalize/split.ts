import type { RouteConfig } from '../schema'
import type { SplitTarget } from '../types'
import { MAX_SPLIT_WEIGHT } from '../defaults'

/**
 * A route's `upstream` given as a list: every name a group, each listed once, and at least one
 * weight above 0 (weights of 0 keep a group on the route, taking no new clients). Problems are
 * named by their path (`routes[1].upstream[0].name`). undefined for a plain name.
 */
export function normalizeSplit (upstream: RouteConfig['upstream'], at: string, upstreams: ReadonlySet<string>, problems: string[]): SplitTarget[] | undefined {
  if (!Array.isArray(upstream)) return undefined
  const seen = new Set<string>()
  upstream.forEach((target, i) => {
    if (!upstreams.has(target.name)) {
      problems.push(`${at}[${i}].name: unknown upstream "${target.name}" (known: ${[...upstreams].map(n => `"${n}"`).join(', ')})`)
    }
    if (seen.has(target.name)) problems.push(`${at}[${i}].name: "${target.name}" is listed twice`)
    seen.add(target.name)
  })
  if (!upstream.some(target => target.weight > 0)) problems.push(`${at}: at least one weight must be above 0`)
  return upstream.map(target => ({ name: target.name, weight: target.weight }))
}

/** A change of weights on a running split (the admin API): the same checks, by group name. */
export function splitWeightsProblem (current: readonly SplitTarget[], weights: unknown): string | undefined {
  if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) return 'weights: an object of group name → weight'
  const names = new Set(current.map(t => t.name))
  for (const [name, weight] of Object.entries(weights)) {
    if (!names.has(name)) return `weights.${name}: not a group of this route (its groups: ${[...names].join(', ')})`
    if (!Number.isInteger(weight) || (weight as number) < 0 || (weight as number) > MAX_SPLIT_WEIGHT) return `weights.${name}: an integer from 0 to ${MAX_SPLIT_WEIGHT}`
  }
  const next = current.map(t => (weights as Record<string, number>)[t.name] ?? t.weight)
  if (!next.some(w => w > 0)) return 'weights: at least one weight must be above 0'
  return undefined
}
