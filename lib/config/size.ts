// Sizes in the config: bytes as a number, or a number with a unit. KB, MB and GB are powers of
// 1024, as nginx reads `k`, `m` and `g` (client_max_body_size, proxy_cache's max_size); KiB,
// MiB and GiB say the same. No spaces, as for durations.
const UNITS: Record<string, number> = { B: 1, KB: 1024, KiB: 1024, MB: 1024 ** 2, MiB: 1024 ** 2, GB: 1024 ** 3, GiB: 1024 ** 3 }

/** The shape the schema (lib/config/schema.ts) accepts for a size string. */
export const SIZE_PATTERN = '^\\d+(?:\\.\\d+)?(?:B|KB|MB|GB|KiB|MiB|GiB)?$'

const PARTS = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/

/** 1024, "1024", "1024B", "512KB", "8MB", "1GiB" → bytes. The schema has already checked the shape. */
export function parseSize (value: number | string): number {
  if (typeof value === 'number') return value
  const m = PARTS.exec(value)
  const unit = m === null ? undefined : UNITS[m[2] === '' ? 'B' : m[2]]
  if (m === null || unit === undefined) throw new TypeError(`not a size: ${JSON.stringify(value)}`)
  return Math.floor(Number(m[1]) * unit)
}
