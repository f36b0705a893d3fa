import { createHash } from 'node:crypto'
import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'

// Beyond this a header value is hashed, so that a client cannot make the counters' keys
// (in memory or in Redis) as large as it likes.
const MAX_KEY_VALUE = 128

/**
 * Compiles a rate limit key ("ip" or "header:NAME") into @fastify/rate-limit's keyGenerator.
 * Every key starts with the space it belongs to ("ip:…", "appid:…"), so that an appid that
 * happens to look like an address never shares a counter with that address. A request
 * without the header is counted by its address: leaving the header out is no way around
 * the limit.
 */
export function compileRateLimitKey (spec: string): (request: FastifyRequest) => string {
  if (spec === 'ip') return byAddress
  if (!spec.startsWith('header:')) throw new TypeError(`unknown rate limit key "${spec}"`)
  const name = spec.slice('header:'.length).toLowerCase()
  // A header named "ip" must not reach the address space either.
  const space = name === 'ip' ? 'header-ip' : name
  return request => {
    const raw = request.headers[name]
    let value = Array.isArray(raw) ? raw[0] : raw
    // Node joins a header sent twice into "A, A": a fresh key per repetition, a way around
    // the limit. The first line counts, as for a header sent once.
    if (value !== undefined && value.includes(',')) value = firstLine(request.raw.rawHeaders, name) ?? value
    if (value === undefined || value.trim() === '') return byAddress(request)
    return `${space}:${value.length > MAX_KEY_VALUE ? digest(value) : value}`
  }
}

function firstLine (rawHeaders: string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].length === name.length && rawHeaders[i].toLowerCase() === name) return rawHeaders[i + 1]
  }
  return undefined
}

function byAddress (request: FastifyRequest): string {
  return `ip:${normalizeIP(request.ip)}`
}

function digest (value: string): string {
  return 'sha256-' + createHash('sha256').update(value).digest('base64url')
}
