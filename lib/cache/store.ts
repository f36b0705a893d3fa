import { LRUCache } from 'lru-cache'
import type CachePolicy from 'http-cache-semantics'
import { matches, type PurgeMatch } from './key'
import type { Headers } from './policy'

export interface CacheEntry {
  /** The store's key: the primary key and the values of the fields Vary names. */
  key: string
  primary: string
  upstream: string
  host: string
  target: string
  status: number
  policy: CachePolicy
  body: Buffer
  /** Bytes charged against maxSize: everything the entry keeps (see entryBytes). */
  size: number
}

interface Variants {
  /** The fields the last stored response for this primary key named in Vary, lowercase. */
  names: string[]
  /** Entries stored under this primary key, so that the record goes with the last one. */
  count: number
  /** The store's keys of those entries: every variant of one URL, for invalidation (RFC 9111 §4.4). */
  keys: Set<string>
}

/**
 * The stored responses, least recently used out first once their bytes would pass maxSize
 * (lru-cache with maxSize and a size per entry). A primary key may hold several variants
 * (RFC 9111 §4.1): the secondary key is the request's values of the fields that the stored
 * response's Vary named.
 */
export class CacheStore {
  private readonly lru: LRUCache<string, CacheEntry>
  private readonly variants = new Map<string, Variants>()

  constructor (readonly maxSize: number) {
    this.lru = new LRUCache<string, CacheEntry>({
      maxSize,
      sizeCalculation: entry => entry.size,
      // 'set': replaced under the same key, which stays in use.
      dispose: (entry, key, reason) => this.forget(entry.primary, key, reason !== 'set')
    })
  }

  /** The key a request would be stored under, given what is known of its primary key's Vary. */
  keyFor (primary: string, headers: Headers): string {
    return variantKey(primary, this.variants.get(primary)?.names ?? [], headers)
  }

  get (primary: string, headers: Headers): CacheEntry | undefined {
    return this.lru.get(this.keyFor(primary, headers))
  }

  /** Stores a response under the key its own Vary gives; false when it is larger than the whole store. */
  set (entry: Omit<CacheEntry, 'key' | 'size'>, requestHeaders: Headers): CacheEntry | undefined {
    const names = varyNames(entry.policy.responseHeaders().vary)
    const key = variantKey(entry.primary, names, requestHeaders)
    const size = entryBytes(entry, key, names, requestHeaders)
    if (size > this.maxSize) return undefined
    const full: CacheEntry = { ...entry, key, size }
    const v = this.variants.get(entry.primary)
    if (v === undefined) this.variants.set(entry.primary, { names, count: 1, keys: new Set([key]) })
    else {
      v.names = names
      v.count++
      v.keys.add(key)
    }
    this.lru.set(full.key, full)
    return full
  }

  /** The same response with a policy refreshed by a 304 (RFC 9111 §4.3.4), under the same key. */
  refresh (entry: CacheEntry, policy: CachePolicy): CacheEntry {
    const next = { ...entry, policy, size: entry.size - fieldBytes(entry.policy.responseHeaders() as Headers) + fieldBytes(policy.responseHeaders() as Headers) }
    const v = this.variants.get(entry.primary)
    if (v !== undefined) v.count++
    this.lru.set(entry.key, next)
    return next
  }

  delete (key: string): void {
    this.lru.delete(key)
  }

  /** Drops every variant stored for one primary key (RFC 9111 §4.4); how many went. */
  invalidate (primary: string): number {
    const v = this.variants.get(primary)
    if (v === undefined) return 0
    const keys = [...v.keys]
    for (const key of keys) this.lru.delete(key)
    return keys.length
  }

  /** Drops every entry that `match` names (all their variants); returns how many. */
  purge (match: PurgeMatch): number {
    const keys: string[] = []
    for (const [key, e] of this.lru.entries()) if (matches(match, e.host, e.target)) keys.push(key)
    for (const key of keys) this.lru.delete(key)
    return keys.length
  }

  get bytes (): number {
    return this.lru.calculatedSize
  }

  get entries (): number {
    return this.lru.size
  }

  private forget (primary: string, key: string, gone: boolean): void {
    const v = this.variants.get(primary)
    if (v === undefined) return
    if (gone) v.keys.delete(key)
    if (--v.count <= 0) this.variants.delete(primary)
  }
}

function varyNames (vary: string | string[] | undefined): string[] {
  if (vary === undefined) return []
  return String(vary).split(',').map(n => n.trim().toLowerCase()).filter(n => n !== '').sort()
}

function variantKey (primary: string, names: readonly string[], headers: Headers): string {
  if (names.length === 0) return primary
  let key = primary
  for (const name of names) {
    const v = headers[name]
    key += `\n${name}:${Array.isArray(v) ? v.join(', ') : v ?? ''}`
  }
  return key
}

// What V8 spends on an entry beyond its strings and bytes: the entry, its policy, their
// header objects and the LRU's slot: measured on the heap after gc, about 1.9 KiB for an entry
// with a short URL and a small body. A string costs its length plus a header, a field a slot besides.
const ENTRY_OVERHEAD = 2048
const STRING_OVERHEAD = 24
const FIELD_OVERHEAD = 48

/**
 * The bytes an entry holds, charged in full against maxSize so that the bound is the memory
 * the cache uses: the body, the response fields, and also the strings of its key, primary
 * key and target (a URL of several KiB is kept more than once), and, for a response with
 * Vary, the request fields its policy keeps to match later requests against (RFC 9111 §4.1).
 */
function entryBytes (entry: Omit<CacheEntry, 'key' | 'size'>, key: string, names: readonly string[], requestHeaders: Headers): number {
  let n = ENTRY_OVERHEAD + entry.body.length + fieldBytes(entry.policy.responseHeaders() as Headers)
  for (const text of [key, entry.primary, entry.target, entry.host, entry.upstream]) n += text.length + STRING_OVERHEAD
  for (const name of names) n += name.length + STRING_OVERHEAD
  if (names.length > 0) n += fieldBytes(requestHeaders)
  return n
}

function fieldBytes (headers: Headers): number {
  let n = 0
  for (const name in headers) n += name.length + String(headers[name]).length + FIELD_OVERHEAD
  return n
}
