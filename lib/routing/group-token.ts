import { createHmac } from 'node:crypto'

/**
 * The opaque ids a split route's group cookie names its group by: an HMAC of the route's
 * index and the group's name under cookieSecret, domain-separated from the sticky cookie's
 * server ids and from cookie signing, which use the same secret. The cookie itself is the
 * sticky cookie's claim (lib/upstreams/sticky-cookie.ts: token and expiry, signed), so every
 * instance sharing the secret reads it, and it never reveals a group's name.
 */
export class GroupTokens {
  private secret: string | undefined
  private readonly tokens = new Map<string, string>()

  constructor (private readonly route: number, private readonly currentSecret: () => string | undefined) {}

  of (group: string): string {
    const secret = this.currentSecret() as string
    if (secret !== this.secret) {
      this.tokens.clear()
      this.secret = secret
    }
    let token = this.tokens.get(group)
    if (token === undefined) {
      token = createHmac('sha256', secret).update(`gatehouse-split\0${this.route}\0${group}`).digest('base64url').slice(0, 16)
      this.tokens.set(group, token)
    }
    return token
  }

  /** The group among `groups` a token names; undefined when none does (another secret, a group taken off the route). */
  find (groups: readonly string[], token: string): string | undefined {
    for (const g of groups) if (this.of(g) === token) return g
    return undefined
  }
}
