const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** The local time zone's offset, "+0100" or with a colon "+01:00", as nginx writes it. */
function offset (d: Date, colon: boolean): string {
  const minutes = -d.getTimezoneOffset()
  const sign = minutes < 0 ? '-' : '+'
  const abs = Math.abs(minutes)
  return `${sign}${pad(Math.floor(abs / 60))}${colon ? ':' : ''}${pad(abs % 60)}`
}

/**
 * A time formatted once per second and reused, as nginx caches its time strings: a busy
 * gateway writes thousands of lines in the same second.
 */
function perSecond (format: (d: Date) => string): (ms: number) => string {
  let second = -1
  let text = ''
  return ms => {
    const s = Math.floor(ms / 1000)
    if (s !== second) {
      second = s
      text = format(new Date(s * 1000))
    }
    return text
  }
}

/** nginx's $time_local, the common and combined formats' time: `03/Dec/2026:13:44:28 +0000`. */
export const timeLocal = perSecond(d => `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${offset(d, false)}`)

/** nginx's $time_iso8601: `2026-12-03T13:44:28+00:00`, local time. */
export const timeIso8601 = perSecond(d => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${offset(d, true)}`)
