import t from 'tap'
import { seeded } from '../fixtures/balancing'
import { rawRequest } from './raw'
import { startGateway } from '../helper'
import { startRecordingBackend } from './raw'

// Hostile input no hand-written case thinks of: generated request lines and header sets (random bytes in the target, duplicated
// and malformed headers, stray backslashes and percent-encodings), bounded in count and
// time, against three invariants: the gateway never exits, never answers 5xx to a
// malformed request (501 for an unsupported transfer coding is the one 5xx it owes), and
// every path a backend receives is exactly the path routed, as an independent model computes it.

const seed = Number(process.env.FUZZ_SEED ?? 20261201)
const COUNT = 2000
const TIME_BUDGET = 8_000
const WORKERS = 8

const TOKENS = ['a', 'b', 'api', 'public', '.', '..', '...', '\\', '/', '//', '%2e', '%2E', '%2f', '%2F', '%5c', '%5C', '%00', '%zz', '%4', '%',
  '%61', '%41', '%7e', '%7E', '%2D', '%5f', '%20', '%C3%A9', '%25', '%252e', '?', '#', '~', '"', '{', '}', '|', '^', ';', '=', '&', '@', ':', '*']
const PREFIXES = ['/public/', '/api/', '/%61pi/', '/', '/public', '/api', '*', 'http://a.test/public/', 'https://a.test:8443/api/', 'http://u@a.test/', 'ftp://a.test/', 'x', '']
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH']
const HOSTS = [['Host: a.test'], ['Host: a.test'], ['Host: a.test:80'], ['Host: [::1]'], ['Host: a.test', 'Host: b.test'], ['Host: a b'], ['Host: a/b'], ['Host: u@a'], ['Host: '], []]
const EXTRAS = [[], [], [], ['appid: A', 'appid: A'], ['appid: A, B'], ['Transfer-Encoding: gzip, chunked'], ['Transfer-Encoding: identity'], ['Transfer-Encoding: chunked'],
  ['Content-Length: 3'], ['Content-Length: 3', 'Content-Length: 4'], ['Bad Header: x'], ['X-A: \x01'], ['x-forwarded-for: 1.2.3.4'], ['Connection: keep-alive, x-fuzz-id']]

interface Case { id: number, method: string, target: string, headers: string[], body: string }

function generate (random: () => number, id: number): Case {
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]
  let target = pick(PREFIXES)
  const n = Math.floor(random() * 6)
  for (let i = 0; i < n; i++) {
    const r = random()
    if (r < 0.8) target += pick(TOKENS)
    else if (r < 0.95) target += String.fromCharCode(0x21 + Math.floor(random() * 94))
    else target += String.fromCharCode(Math.floor(random() * 256))
  }
  const headers = [...pick(HOSTS), ...pick(EXTRAS), `x-fuzz-id: ${id}`, 'Connection: close']
  const chunked = headers.some(h => /^Transfer-Encoding: .*chunked/i.test(h))
  const length = headers.find(h => h.startsWith('Content-Length'))
  const body = chunked ? '3\r\nabc\r\n0\r\n\r\n' : length !== undefined ? 'abc' : ''
  return { id, method: pick(METHODS), target, headers, body }
}

/** A coding before a final chunked: the one case that owes a 5xx, 501 (RFC 9112 §6.1). */
function unsupportedCoding (c: Case): boolean {
  return c.headers.some(h => /^Transfer-Encoding: .+,\s*chunked$/i.test(h))
}

const UNRESERVED = /[A-Za-z0-9\-._~]/

/**
 * What the backend must receive for a target, computed apart from lib/http/request-target.ts:
 * the path with unreserved encodings decoded, less the route's prefix, and the raw query;
 * or null when the target must never reach a backend.
 */
function expectedTarget (target: string): string | null {
  let path = target
  const abs = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target)
  if (abs !== null) path = abs[2].startsWith('/') ? abs[2] : '/' + abs[2]
  else if (!target.startsWith('/')) return null
  const q = path.indexOf('?')
  const query = q === -1 ? '' : path.slice(q)
  path = q === -1 ? path : path.slice(0, q)
  if (/[\\#]/.test(path) || /%(?![0-9A-Fa-f]{2})/.test(path) || /%00/.test(path)) return null
  path = path.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.test(c) ? c : m
  })
  if (path.split('/').some(s => s === '.' || s === '..')) return null
  if (path === '/api' || path.startsWith('/api/')) path = path.slice(4) === '' ? '/' : path.slice(4)
  return path + query
}

t.test('generated hostile requests keep the invariants', async tt => {
  tt.comment(`FUZZ_SEED=${seed}`)
  const random = seeded(seed)
  const backend = await startRecordingBackend(tt)
  const gw = await startGateway(tt, {
    upstreams: { app: { servers: [{ url: backend.url }] } },
    routes: [
      { match: { path: '/public/*' }, upstream: 'app' },
      { match: { path: '/api/*' }, upstream: 'app', stripPrefix: '/api' }
    ],
    rateLimit: { key: 'header:appid', max: 1_000_000, timeWindow: 60_000 }
  })

  const cases: Case[] = []
  for (let i = 0; i < COUNT; i++) cases.push(generate(random, i))
  const answers = new Map<number, { statuses: number[], text: string }>()
  const started = Date.now()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < cases.length && Date.now() - started < TIME_BUDGET) {
      const c = cases[next++]
      const bytes = Buffer.from(`${c.method} ${c.target} HTTP/1.1\r\n${c.headers.join('\r\n')}\r\n\r\n${c.body}`, 'latin1')
      const answer = await rawRequest(gw.port, bytes, { deadline: 2_000 })
      answers.set(c.id, answer)
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, worker))
  tt.comment(`${answers.size} requests in ${Date.now() - started} ms, ${backend.lines.length} reached the backend`)
  tt.ok(answers.size >= 500, 'enough requests ran within the time budget')

  // What the backend received, by the id each request carried.
  const received = new Map<number, string>()
  for (const head of backend.heads) {
    const id = /\r\nx-fuzz-id: (\d+)/i.exec(head)
    const line = head.slice(0, head.indexOf('\r\n'))
    if (id !== null) received.set(Number(id[1]), line.slice(line.indexOf(' ') + 1, line.lastIndexOf(' ')))
  }

  let failures = 0
  const fail = (c: Case, what: string): void => {
    if (++failures <= 20) tt.fail(`${what}: ${JSON.stringify(`${c.method} ${c.target}`)} ${JSON.stringify(c.headers)} (FUZZ_SEED=${seed}, id ${c.id})`)
  }
  for (const c of cases) {
    const answer = answers.get(c.id)
    if (answer === undefined) continue
    const status = answer.statuses[0]
    if (status === undefined) fail(c, `no answer (${JSON.stringify(answer.text.slice(0, 80))})`)
    else if (status >= 500 && !(status === 501 && unsupportedCoding(c))) fail(c, `answered ${status}`)
    const got = received.get(c.id)
    if (got === undefined) continue
    const want = expectedTarget(c.target)
    if (want === null) fail(c, `reached the backend as ${JSON.stringify(got)} but must be refused`)
    else if (got !== want) fail(c, `reached the backend as ${JSON.stringify(got)}, routed as ${JSON.stringify(want)}`)
  }
  tt.equal(failures, 0, 'no invariant broken')

  // Still alive and serving.
  const alive = await rawRequest(gw.port, 'GET /public/alive HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  tt.same(alive.statuses, [200], 'the gateway still serves')
})
