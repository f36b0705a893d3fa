/** A single byte range of a stored body, inclusive, or a Range that no byte satisfies. */
export type RangeAnswer = { start: number, end: number } | 'unsatisfiable'

/**
 * A Range header (RFC 9110 §14.1.2) against a stored complete body of `length` bytes: one
 * byte-range (`a-b`, `a-`, `-n`) gives the bytes to send, clipped to the body; undefined
 * for anything else (another unit, several ranges, a malformed one), which RFC 9110 §14.2
 * lets a server answer with the whole 200, as nginx does for multipart ranges it will not build.
 */
export function singleRange (header: string, length: number): RangeAnswer | undefined {
  const m = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i.exec(header)
  if (m === null || (m[1] === '' && m[2] === '')) return undefined
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0 || length === 0) return 'unsatisfiable'
    return { start: Math.max(0, length - suffix), end: length - 1 }
  }
  const start = Number(m[1])
  // last-pos below first-pos makes the range invalid, so ignored (§14.1.1); an open end is valid.
  if (m[2] !== '' && Number(m[2]) < start) return undefined
  if (start >= length) return 'unsatisfiable'
  const end = m[2] === '' ? length - 1 : Number(m[2])
  return { start, end: Math.min(end, length - 1) }
}
