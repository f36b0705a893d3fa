import type { ErrorObject } from 'ajv'

/** Turns ajv's JSON pointers into the dotted paths users read in their config. */
export function formatAjvErrors (errors: ErrorObject[], data: unknown): string[] {
  // A union (anyOf) reports each branch's failure as well; its own message says it better.
  const unions = errors.filter(e => e.keyword === 'anyOf')
  const unionPaths = new Set(unions.map(e => e.instancePath))
  // Except a union of `false` and an object (cache, compress, rateLimit, basicAuth) given an
  // object: the object's own errors (an unknown key) say what is wrong; "no branch matched"
  // and the `false` branch's type error would not.
  const objectUnions = new Set(unions.filter(e => e.data !== null && typeof e.data === 'object' && !Array.isArray(e.data)).map(e => e.instancePath))
  const out = new Set<string>()
  for (const e of errors) {
    if (objectUnions.has(e.instancePath)) {
      if (e.keyword === 'anyOf' || e.keyword === 'type' || e.keyword === 'const') continue
    } else if (e.keyword !== 'anyOf' && unionPaths.has(e.instancePath)) continue
    let path = toDotted(e.instancePath, data)
    let message: string
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as { additionalProperty: string }).additionalProperty
        path = path === '' ? key : `${path}.${key}`
        message = 'unknown key (check its spelling)'
        break
      }
      case 'required': {
        const key = (e.params as { missingProperty: string }).missingProperty
        path = path === '' ? key : `${path}.${key}`
        message = 'required'
        break
      }
      case 'enum':
        message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map(v => JSON.stringify(v)).join(', ')}`
        break
      case 'pattern':
      case 'anyOf': {
        const description = (e.parentSchema as { description?: string } | undefined)?.description
        message = description !== undefined ? `must be ${description}` : (e.message ?? 'is invalid')
        if (e.keyword === 'pattern' || e.data !== undefined) message += ` (got ${JSON.stringify(e.data)})`
        break
      }
      default:
        message = e.message ?? 'is invalid'
    }
    out.add(`${path === '' ? '(config)' : path}: ${message}`)
  }
  return [...out]
}

function toDotted (pointer: string, data: unknown): string {
  if (pointer === '') return ''
  let node: unknown = data
  let path = ''
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(node)) {
      path += `[${key}]`
    } else {
      path += path === '' ? key : `.${key}`
    }
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined
  }
  return path
}

/**
 * Where a JSON.parse failure is, as line:column: V8 says "at position N" (or, for a text
 * that ends too soon, nothing), and a person looks for lines.
 */
export function jsonErrorAt (text: string, err: Error): string {
  const match = /position (\d+)/.exec(err.message)
  const position = match === null ? text.length : Number(match[1])
  const before = text.slice(0, position)
  const line = before.split('\n').length
  const column = position - before.lastIndexOf('\n')
  const reason = err.message.replace(/ in JSON at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '')
  return `line ${line}, column ${column}: ${reason}`
}
