// Sizes in the config: bytes as a number, or a number with a unit. KB, MB and GB are powers
// of 1024, as nginx's client_max_body_size reads `k` and `m`; KiB, MiB and GiB say the same.
export const BYTE_SIZE_PATTERN = '^(\\d+(\\.\\d+)?)(B|KB|MB|GB|KiB|MiB|GiB)$'

const UNITS: Record<string, number> = { B: 1, KB: 1024, KiB: 1024, MB: 1024 ** 2, MiB: 1024 ** 2, GB: 1024 ** 3, GiB: 1024 ** 3 }

/** Bytes, from a value the schema accepted (BYTE_SIZE_PATTERN, or a non-negative integer). */
export function parseByteSize (value: number | string): number {
  if (typeof value === 'number') return value
  const m = new RegExp(BYTE_SIZE_PATTERN).exec(value)
  if (m === null) throw new Error(`not a size: ${value}`)
  return Math.floor(Number(m[1]) * UNITS[m[3]])
}
