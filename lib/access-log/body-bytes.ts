// Body bytes written to a client's response, counted as they are written, for the formats that
// log them ($body_bytes_sent): a streamed answer has no length to read afterwards. Only the
// responses of a gateway whose access log asks for the count carry these.
const kBytes = Symbol('gatehouse.bodyBytes')
const kEnding = Symbol('gatehouse.bodyBytesEnding')

interface Counted {
  [kBytes]: number
  [kEnding]: boolean
  write (...args: unknown[]): boolean
  end (...args: unknown[]): unknown
}

type Writable = { write: (...args: any[]) => boolean, end: (...args: any[]) => unknown }

function size (chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? encoding as BufferEncoding : 'utf8')
  return (chunk as { byteLength?: number } | null | undefined)?.byteLength ?? 0
}

function countingWrite (this: Counted, chunk: unknown, encoding: unknown): boolean {
  if (!this[kEnding]) this[kBytes] += size(chunk, encoding)
  // eslint-disable-next-line prefer-rest-params
  return (Object.getPrototypeOf(this) as Writable).write.apply(this, arguments as never)
}

function countingEnd (this: Counted, chunk: unknown, encoding: unknown): unknown {
  // HTTP/2's compatibility response ends by calling write(): the last chunk is counted here, once.
  if (!this[kEnding] && typeof chunk !== 'function') this[kBytes] += size(chunk, encoding)
  this[kEnding] = true
  // eslint-disable-next-line prefer-rest-params
  return (Object.getPrototypeOf(this) as Writable).end.apply(this, arguments as never)
}

/** Counts the body bytes written to `res` from now on. */
export function countBodyBytes (res: Writable): void {
  const counted = res as unknown as Counted
  counted[kBytes] = 0
  counted[kEnding] = false
  res.write = countingWrite as never
  res.end = countingEnd as never
}

/** The body bytes written to `res` (0 when nobody counted them). */
export function bodyBytesOf (res: object): number {
  return (res as Partial<Counted>)[kBytes] ?? 0
}
