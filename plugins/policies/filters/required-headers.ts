import type { onRequestHookHandler } from 'fastify'
import { HeaderRequiredError } from '../../../lib/errors'
import type { HookFactory } from '../pipeline'
import { refuse } from './refuse'

/** `filters.requireHeaders`: a request without one of them (or with it empty: every comma-separated element blank) gets 401. */
export const requiredHeadersFilter: HookFactory<'onRequest'> = (route, { fastify }) => {
  const names = route.filters?.requireHeaders
  if (names === undefined) return undefined
  const gatehouseRequiredHeaders: onRequestHookHandler = (request, reply, done) => {
    for (const name of names) {
      const value = request.headers[name]
      if (isEmpty(value)) {
        done(refuse(fastify, request, route, 'header', new HeaderRequiredError(name)))
        return
      }
    }
    done()
  }
  return gatehouseRequiredHeaders
}

/**
 * Whether a header value says nothing: absent, or every comma-separated element blank. A
 * header sent twice with empty values arrives joined as ", " (RFC 9110 §5.3), which is no
 * more a value than an absent one.
 */
function isEmpty (value: string | string[] | undefined): boolean {
  if (value === undefined) return true
  const text = Array.isArray(value) ? value.join(',') : value
  return /^[\s,]*$/.test(text)
}
