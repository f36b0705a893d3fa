import { createHash, randomBytes } from 'node:crypto'

/** At most this many dashboard logins are open at once; the oldest goes first. */
const MAX_SESSIONS = 1000

interface Session {
  expires: number
  /** The token it was opened with, hashed: a session ends when the token changes. */
  token: string
}

/**
 * The dashboard's logins, kept by the admin listener. A cookie holds a random id (256 bits)
 * and nothing derived from the token, so it says nothing about the token, it expires after
 * admin.sessionTtl, and it can be revoked: on POST /logout, and on a change of the token.
 */
export class AdminSessions {
  private readonly open = new Map<string, Session>()

  constructor (readonly ttl: number, private readonly now: () => number = Date.now) {}

  /** Opens a session under `token`; returns the cookie value. */
  start (token: string): string {
    const id = randomBytes(32).toString('base64url')
    const at = this.now()
    for (const [key, s] of this.open) if (s.expires <= at) this.open.delete(key)
    if (this.open.size >= MAX_SESSIONS) this.open.delete(this.open.keys().next().value as string)
    this.open.set(id, { expires: at + this.ttl, token: digest(token) })
    return id
  }

  /** Whether `id` names an open session opened under the current `token`. */
  valid (id: string, token: string): boolean {
    const s = this.open.get(id)
    if (s === undefined) return false
    if (s.expires <= this.now() || s.token !== digest(token)) {
      this.open.delete(id)
      return false
    }
    return true
  }

  end (id: string): void {
    this.open.delete(id)
  }
}

function digest (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
