const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/** 1500, "1500", "1500ms", "1.5s", "2m", "1h" → milliseconds. The schema has already checked the shape. */
export function parseDuration (value: number | string): number {
  if (typeof value === 'number') return value
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value)
  if (match === null) throw new TypeError(`not a duration: ${JSON.stringify(value)}`)
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms'])
}
