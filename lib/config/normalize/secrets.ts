import type { UpstreamOptions } from '../types'

// Signing needs enough secret to resist guessing; 32 characters is what @fastify/cookie's docs ask of a secret too.
const MIN_SECRET_LENGTH = 32

/** The sticky cookies' secret, from the config or GATEHOUSE_COOKIE_SECRET; required once any group is sticky. */
export function cookieSecretOf (configured: string | undefined, env: NodeJS.ProcessEnv, upstreams: Iterable<UpstreamOptions>, problems: string[]): string | undefined {
  const secret = configured ?? env.GATEHOUSE_COOKIE_SECRET
  const sticky = [...upstreams].find(u => u.sticky !== undefined)
  if (sticky !== undefined && secret === undefined) {
    problems.push(`cookieSecret: required because upstreams.${sticky.name}.sticky is set (or set GATEHOUSE_COOKIE_SECRET)`)
  } else if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    problems.push(`cookieSecret: must be at least ${MIN_SECRET_LENGTH} characters (from GATEHOUSE_COOKIE_SECRET)`)
  }
  return secret
}
