const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 }

const NUMBER = '\\d+(?:\\.\\d+)?'
/**
 * A bare number of milliseconds ("1500"), or one or more number+unit parts, largest unit
 * first and each unit at most once ("1d", "1h30m", "1m30s", "1.5s", "500ms"). No spaces
 * anywhere: "2 s" and " 2s" are refused, so what passes the schema is exactly what the
 * README shows. The schema (lib/config/schema.ts) uses this same pattern.
 */
export const DURATION_PATTERN =
  `^(?:${NUMBER}|(?=\\d)(?:${NUMBER}d)?(?:${NUMBER}h)?(?:${NUMBER}m)?(?:${NUMBER}s)?(?:${NUMBER}ms)?)$`

const PART = new RegExp(`(${NUMBER})(ms|d|h|m|s)`, 'g')
const WHOLE = new RegExp(DURATION_PATTERN)

/** 1500, "1500", "1500ms", "1.5s", "2m", "1h30m", "1d" → milliseconds. The schema has already checked the shape. */
export function parseDuration (value: number | string): number {
  if (typeof value === 'number') return value
  if (!WHOLE.test(value)) throw new TypeError(`not a duration: ${JSON.stringify(value)}`)
  if (/^[\d.]+$/.test(value)) return Math.round(Number(value))
  let total = 0
  for (const [, n, unit] of value.matchAll(PART)) total += Number(n) * UNITS[unit]
  return Math.round(total)
}
