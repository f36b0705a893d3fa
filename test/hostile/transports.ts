import type { Test } from 'tap'
import { startGateway } from '../helper'
import type { GatehouseConfig } from '../../lib/config'
import { lastBody, rawRequest, request } from './raw'
import { h2Request, startH2Gateway } from './h2'

/** One answer, whichever protocol carried it. */
export interface Answer {
  status: number
  /** The JSON error code of a gateway answer, if it has one. */
  code?: string
  /** HTTP/1.1: the connection was closed after it. HTTP/2: always true (a stream ends alone). */
  closed: boolean
  /** HTTP/2: Node's server reset the stream itself, before Gatehouse saw the request. */
  reset: boolean
  text: string
}

/**
 * The same request sent over HTTP/1.1 (raw bytes on a socket: the target as written) or
 * HTTP/2 (node:http2's client, which sends `:path` as given), so that the same screening
 * cases run through both front doors.
 */
export interface Transport {
  name: 'h1' | 'h2'
  start (t: Test, config: GatehouseConfig): Promise<{ port: number }>
  send (port: number, method: string, target: string, headers?: Record<string, string>, body?: string): Promise<Answer>
}

function codeOf (body: string): string | undefined {
  try { return JSON.parse(body).code } catch { return undefined }
}

export const h1: Transport = {
  name: 'h1',
  start: async (t, config) => await startGateway(t, config),
  async send (port, method, target, headers = {}, body = '') {
    const lines = Object.entries({ Host: 'gw.test', ...headers }).map(([k, v]) => `${k}: ${v}`)
    const answer = await rawRequest(port, request(`${method} ${target} HTTP/1.1`, lines, body))
    return { status: answer.statuses[0] ?? 0, code: codeOf(lastBody(answer.text)), closed: answer.closed, reset: false, text: answer.text }
  }
}

export const h2: Transport = {
  name: 'h2',
  start: async (t, config) => await startH2Gateway(t, config),
  async send (port, method, target, headers = {}, body) {
    const { Host: host, ...rest } = headers
    const h: Record<string, string> = { ':method': method, ':path': target }
    for (const [k, v] of Object.entries(rest)) h[k.toLowerCase()] = v
    if (host !== undefined) h[':authority'] = host
    const answer = await h2Request(port, h, body === '' ? undefined : body)
    return { status: answer.status, code: codeOf(answer.body), closed: true, reset: answer.rstCode !== undefined, text: `${answer.status} ${answer.body}` }
  }
}

export const transports = [h1, h2]
