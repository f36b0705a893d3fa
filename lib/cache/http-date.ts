const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)'
const LONG_DAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)'
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)'
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
// RFC 9110 §5.6.7: IMF-fixdate, and the two obsolete forms a recipient must still accept.
// Case is not held against a sender (as Date.parse, nginx and Squid do not), every other
// deviation is: JavaScript's Date.parse takes "UTC", dashes, a missing comma, doubled spaces
// and one-digit hours, which a cache must treat as an invalid date, that is as in the past.
const IMF = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} gmt$`, 'i')
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} gmt$`, 'i')
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i')

/** An HTTP-date in ms since the epoch, or NaN for anything RFC 9110 §5.6.7 does not allow. */
export function parseHttpDate (value: string, now = Date.now()): number {
  let m = IMF.exec(value)
  if (m !== null) return utc(Number(m[3]), m[2], m[1], m[4], m[5], m[6])
  m = RFC850.exec(value)
  if (m !== null) {
    // A two-digit year more than 50 years ahead is the most recent past year with those digits (§5.6.7).
    const thisYear = new Date(now).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3])
    if (year > thisYear + 50) year -= 100
    return utc(year, m[2], m[1], m[4], m[5], m[6])
  }
  m = ASCTIME.exec(value)
  if (m !== null) return utc(Number(m[6]), m[1], m[2].trim(), m[3], m[4], m[5])
  return NaN
}

function utc (year: number, month: string, day: string, h: string, min: string, s: string): number {
  const mon = MONTHS.indexOf(month.toLowerCase())
  const d = Number(day)
  const hh = Number(h)
  const mm = Number(min)
  const ss = Number(s)
  if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) return NaN
  const t = Date.UTC(year, mon, d, hh, mm, ss)
  // 31 Feb rolls over into March in Date.UTC: a date that does not exist is invalid.
  return new Date(t).getUTCDate() === d ? t : NaN
}
