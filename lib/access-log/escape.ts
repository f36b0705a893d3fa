// Bytes nginx's access log escapes by default (`escape=default`): '"', '\', control characters
// and everything past '~', each written as \xHH, so that one line stays one line and a field
// stays between its quotes whatever the client sent.
const NEEDS = /["\\\x00-\x1f\x7f-\uffff]/

const HEX = '0123456789ABCDEF'

/** A value as nginx writes it in a log line: unchanged when it has nothing to escape (the usual case). */
export function escapeLogValue (value: string): string {
  if (!NEEDS.test(value)) return value
  let out = ''
  // As bytes, as nginx sees them on the wire: Node hands the target and header values over one
  // character per byte (latin1); a string with wider characters (made here) is taken as UTF-8.
  const bytes = /[\u0100-\uffff]/.test(value) ? Buffer.from(value, 'utf8') : Buffer.from(value, 'latin1')
  for (const byte of bytes) {
    out += byte === 0x22 || byte === 0x5c || byte < 0x20 || byte > 0x7e ? `\\x${HEX[byte >> 4]}${HEX[byte & 15]}` : String.fromCharCode(byte)
  }
  return out
}
