import type bcryptjs from 'bcryptjs'

// bcryptjs is loaded at the first check: a gateway without basic auth never loads it, and never pays its start-up time and memory.
let bcrypt: typeof bcryptjs | undefined
import { createHash } from 'node:crypto'

// A bcrypt hash as bcryptjs and htpasswd -B write it: $2a$, $2b$ or $2y$, a two-digit cost, 53 characters of salt and hash.
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/
// Compared against when the user is unknown, so that an unknown name costs a bcrypt check
// like a known one and answer times do not tell which names exist.
const DUMMY_HASH = '$2b$10$cTwqvaLKettcIktWiqyqreTM3ac2eqfshn0VSJde1bil347RRx5uq'
// Verified credentials are kept (by a digest, never in clear) so that a client sending the
// same header on every request pays bcrypt once, not per request: bcryptjs is pure JS and a
// cost-10 check takes tens of milliseconds of the event loop.
const CACHE_SIZE = 1024

export function bcryptHashProblem (hash: string): string | undefined {
  return BCRYPT_HASH.test(hash) ? undefined : 'not a bcrypt hash ($2a$, $2b$ or $2y$, as `htpasswd -nbB user password` writes)'
}

/** RFC 7617 Basic credentials against bcrypt hashes; `verify` answers the user name or null. */
export class BasicAuth {
  private readonly users: Map<string, string>
  private readonly verified = new Map<string, string>()

  constructor (users: Record<string, string>) {
    this.users = new Map(Object.entries(users))
  }

  async verify (authorization: string | undefined): Promise<string | null> {
    const credentials = parseBasic(authorization)
    if (credentials === undefined) return null
    const digest = createHash('sha256').update(authorization as string).digest('base64')
    const cached = this.verified.get(digest)
    if (cached !== undefined && this.users.has(cached)) return cached
    const hash = this.users.get(credentials.user)
    // bcryptjs compares the computed hash with the stored one in constant time; an unknown
    // user is checked against a dummy hash so that it costs the same.
    bcrypt ??= (await import('bcryptjs')).default
    const ok = await bcrypt.compare(credentials.password, hash ?? DUMMY_HASH)
    if (!ok || hash === undefined) return null
    if (this.verified.size >= CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string)
    this.verified.set(digest, credentials.user)
    return credentials.user
  }
}

/** `Basic base64(user:password)` (RFC 7617 §2; the scheme is case-insensitive); undefined when malformed. */
export function parseBasic (header: string | undefined): { user: string, password: string } | undefined {
  if (header === undefined) return undefined
  const m = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header)
  if (m === null) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) return undefined
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
