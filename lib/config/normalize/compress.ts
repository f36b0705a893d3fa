import type { CompressConfig } from '../schema'
import type { CompressRule, CompressSettings, Encoding, GatewayRoute, NormalizedConfig } from '../types'
import { DEFAULT_COMPRESS } from '../defaults'
import { parseSize } from '../size'
import { layered } from './layers'

const ENCODINGS: readonly Encoding[] = ['br', 'gzip', 'deflate']
/** type/subtype or type/*, as RFC 9110 §8.3.1 spells a media type (tokens), without parameters. */
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/(?:[a-z0-9!#$&^_.+-]+|\*)$/

/**
 * A `compress` at the top level, on an upstream or on a route: false turns it off there (and
 * at the top level is the same as leaving it out); only the keys given are kept, to be merged.
 */
export function normalizeCompressRule (path: string, rule: CompressConfig | undefined, problems: string[]): CompressRule | false | undefined {
  if (rule === undefined || rule === false) return rule
  const out: CompressRule = {}
  if (rule.threshold !== undefined) out.threshold = parseSize(rule.threshold)
  if (rule.encodings !== undefined) out.encodings = encodings(`${path}.encodings`, rule.encodings, problems)
  if (rule.types !== undefined) out.types = types(`${path}.types`, rule.types, problems)
  return out
}

/** The top-level `compress`: undefined when absent or false. */
export function normalizeCompress (rule: CompressConfig | undefined, problems: string[]): CompressRule | undefined {
  const out = normalizeCompressRule('compress', rule, problems)
  return out === false ? undefined : out
}

/** What a route compresses with, or undefined when it does not (lib/config/normalize/layers.ts says how the three levels merge). */
export function routeCompress (config: Pick<NormalizedConfig, 'compress' | 'upstreams'>, route: GatewayRoute): CompressSettings | undefined {
  // A redirect route answers itself, with no body worth encoding.
  if (route.upstream === undefined) return undefined
  const rule = layered(config.compress, config.upstreams.get(route.upstream)?.compress, route.compress)
  return rule === undefined ? undefined : { ...DEFAULT_COMPRESS, ...rule }
}

function encodings (path: string, list: string[], problems: string[]): Encoding[] {
  if (list.length === 0) problems.push(`${path}: must name at least one of ${quoted(ENCODINGS)}`)
  list.forEach((name, i) => {
    if (!(ENCODINGS as readonly string[]).includes(name)) problems.push(`${path}[${i}]: must be one of ${quoted(ENCODINGS)} (got ${JSON.stringify(name)})`)
    else if (list.indexOf(name) !== i) problems.push(`${path}[${i}]: "${name}" is already listed at ${path}[${list.indexOf(name)}]`)
  })
  return list as Encoding[]
}

function types (path: string, list: string[], problems: string[]): string[] {
  if (list.length === 0) problems.push(`${path}: must list at least one media type (leave it out for the built-in list)`)
  list.forEach((type, i) => {
    if (!MEDIA_TYPE.test(type.toLowerCase())) problems.push(`${path}[${i}]: must be a media type such as "text/html" or "text/*", without parameters (got ${JSON.stringify(type)})`)
  })
  return list.map(t => t.toLowerCase())
}

function quoted (names: readonly string[]): string {
  return names.map(n => `"${n}"`).join(', ')
}
