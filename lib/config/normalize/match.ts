import safeRegex from 'safe-regex2'
import type { RouteConfig } from '../schema'
import type { MatchConditions, MatchValue } from '../types'
import { MATCH_REGEX_REPETITION_LIMIT } from '../defaults'

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const KINDS = ['headers', 'cookies', 'query'] as const

/**
 * A route's header, cookie and query conditions, checked: header and cookie names are tokens
 * (header names lower-cased, since HTTP's are case-insensitive; cookie and query names are
 * exact), and every regex compiles and passes safe-regex2's star-height check, so that no
 * request can make the router backtrack for seconds (a ReDoS). Problems are named by their
 * JSON path (`routes[2].match.headers.x-canary.regex`).
 */
export function normalizeMatch (match: RouteConfig['match'], at: string, problems: string[]): MatchConditions | undefined {
  let out: MatchConditions | undefined
  for (const kind of KINDS) {
    const given = match[kind]
    if (given === undefined) continue
    const conditions: Record<string, MatchValue> = {}
    for (const [written, value] of Object.entries(given)) {
      const path = `${at}.match.${kind}.${written}`
      if (kind !== 'query' && !TOKEN.test(written)) problems.push(`${path}: not a valid ${kind === 'headers' ? 'header' : 'cookie'} name`)
      if (kind === 'query' && written === '') problems.push(`${path}: a query parameter name cannot be empty`)
      const name = kind === 'headers' ? written.toLowerCase() : written
      if (name in conditions) problems.push(`${path}: given twice (header names are case-insensitive)`)
      if (typeof value === 'object' && !Array.isArray(value)) {
        if ((value.regex === undefined) === (value.present === undefined)) {
          problems.push(`${path}: give one of "regex" and "present"`)
          continue
        }
        if (value.regex !== undefined) regexProblem(value.regex, `${path}.regex`, problems)
      }
      conditions[name] = structuredClone(value) as MatchValue
    }
    out = { ...out, [kind]: conditions }
  }
  return out
}

/** The source a condition's regex is compiled from: anchored, as Envoy's safe_regex matches the whole value. */
export function anchored (source: string): string {
  return `^(?:${source})$`
}

function regexProblem (source: string, path: string, problems: string[]): void {
  try {
    // eslint-disable-next-line no-new
    new RegExp(anchored(source))
  } catch (err) {
    problems.push(`${path}: not a valid regular expression: ${(err as Error).message}`)
    return
  }
  if (!safeRegex(anchored(source), { limit: MATCH_REGEX_REPETITION_LIMIT })) {
    problems.push(`${path}: may backtrack catastrophically (nested or too many repetitions, as in "(a+)+"): write it without a repetition inside a repetition`)
  }
}
