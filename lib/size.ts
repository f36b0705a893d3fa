const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }

/**
 * A size in bytes as a number, or a string such as "512KB", "8MB", "1.5GB" (units of 1024, as
 * nginx reads `k`, `m` and `g`), no spaces. The schema (lib/config-schema.ts) uses this pattern.
 */
export const SIZE_PATTERN = '^\\d+(?:\\.\\d+)?(?:B|KB|MB|GB)?$'

const WHOLE = new RegExp(SIZE_PATTERN)

/** 1024, "1024", "1024B", "512KB", "8MB", "1GB" → bytes. The schema has already checked the shape. */
export function parseSize (value: number | string): number {
  if (typeof value === 'number') return value
  if (!WHOLE.test(value)) throw new TypeError(`not a size: ${JSON.stringify(value)}`)
  const [, n, unit] = /^([\d.]+)([A-Z]*)$/.exec(value) as RegExpExecArray
  return Math.round(Number(n) * UNITS[unit === '' ? 'B' : unit])
}
