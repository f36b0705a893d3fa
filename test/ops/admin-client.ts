import { call, type Reply } from '../helper'

export const TOKEN = 'test-admin-token-0123456789'

/** One admin API request: JSON body, Bearer token when given, and any Host header. */
export async function admin (base: string, method: string, path: string, opts: { token?: string, body?: unknown, host?: string, headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  if (opts.host !== undefined) headers.host = opts.host
  return await call(`${base}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) })
}
