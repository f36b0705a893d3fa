import { AdminTooManyAttemptsError } from '../errors'

/** Failed admin logins allowed per client address in one window, then 429 until it ends. */
export const MAX_FAILED_LOGINS = 10
export const FAILED_LOGIN_WINDOW_MS = 60_000
/** Addresses tracked at once; past it, those whose window has ended are forgotten first. */
const MAX_TRACKED = 10_000

interface Window {
  failures: number
  ends: number
}

/**
 * Failed attempts at the admin token (a Bearer header, a POST /login) per client address,
 * in fixed windows. Past the limit every attempt from that address is refused, a right one
 * too, until its window ends: otherwise a guesser would learn which guess was right at full
 * speed. Successful attempts are not counted. As fail2ban does for sshd, and as nginx's
 * limit_req does by address.
 */
export class FailedLogins {
  private readonly by = new Map<string, Window>()

  constructor (private readonly max = MAX_FAILED_LOGINS, private readonly window = FAILED_LOGIN_WINDOW_MS, private readonly now: () => number = Date.now) {}

  /** Seconds until `address` may try again, or 0 when it may now. */
  retryAfter (address: string): number {
    const w = this.by.get(address)
    if (w === undefined) return 0
    const left = w.ends - this.now()
    if (left <= 0) {
      this.by.delete(address)
      return 0
    }
    return w.failures >= this.max ? Math.ceil(left / 1000) : 0
  }

  failed (address: string): void {
    const at = this.now()
    const w = this.by.get(address)
    if (w !== undefined && w.ends > at) {
      w.failures++
      return
    }
    if (this.by.size >= MAX_TRACKED) for (const [key, old] of this.by) if (old.ends <= at) this.by.delete(key)
    if (this.by.size >= MAX_TRACKED) this.by.delete(this.by.keys().next().value as string)
    this.by.set(address, { failures: 1, ends: at + this.window })
  }
}

/** Refuses an attempt at the token from an address past its failed-attempt limit: 429 with Retry-After. */
export function checkAttempts (failures: FailedLogins, address: string, reply: { header (name: string, value: string): unknown }): void {
  const wait = failures.retryAfter(address)
  if (wait === 0) return
  reply.header('retry-after', String(wait))
  throw new AdminTooManyAttemptsError(wait)
}
