import t from 'tap'
import { startBackend, startGateway } from '../helper'
import { rawRequest, type RawAnswer } from '../hostile/raw'
import { waitFor } from '../wait'
import { FailedLogins } from '../../lib/admin/failed-logins'

const TOKEN = 'test-admin-token-0123456789'

/** A gateway with the admin API on, and a raw client for its listener. */
async function adminListener (t: Parameters<typeof startBackend>[0], admin: Record<string, unknown> = {}) {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN, ...admin },
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  } as never)
  const port = Number(new URL(gw.app.gatehouse.adminUrl as string).port)
  const send = async (method: string, path: string, lines: string[] = [], body = ''): Promise<RawAnswer> => {
    const length = body === '' ? [] : ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]
    return await rawRequest(port, `${method} ${path} HTTP/1.1\r\n${['Host: 127.0.0.1', ...lines, ...length, 'Connection: close'].join('\r\n')}\r\n\r\n${body}`)
  }
  return { port, send }
}

const header = (answer: RawAnswer, name: string): string | undefined => new RegExp(`\\r\\n${name}: *([^\\r\\n]*)`, 'i').exec(answer.text)?.[1]
const bearer = (token: string): string[] => [`Authorization: Bearer ${token}`]
const login = (token: string): string => JSON.stringify({ token })

t.test('failed Bearer attempts are limited per address: 10 a minute, then 429 with Retry-After, the right token too', async t => {
  const { send } = await adminListener(t)
  for (let i = 0; i < 20; i++) t.same((await send('GET', '/upstreams', bearer(TOKEN))).statuses, [200], 'successes are not counted')
  for (let i = 0; i < 9; i++) t.same((await send('GET', '/upstreams', bearer(`wrong-guess-${i}-0123456789`))).statuses, [401])
  t.same((await send('GET', '/upstreams', bearer(TOKEN))).statuses, [200], 'below the limit the right token passes')
  t.same((await send('GET', '/upstreams', bearer('wrong-guess-last-0123456'))).statuses, [401], 'the tenth failure')
  const locked = await send('GET', '/upstreams', bearer('wrong-guess-more-0123456'))
  t.same(locked.statuses, [429])
  t.match(locked.text, /"code":"GH_ADMIN_TOO_MANY_ATTEMPTS"/)
  const wait = Number(header(locked, 'retry-after'))
  t.ok(wait >= 1 && wait <= 60, `Retry-After: ${wait}`)
  t.same((await send('GET', '/upstreams', bearer(TOKEN))).statuses, [429], 'the right token is refused too while locked: a guesser learns nothing')
  t.same((await send('POST', '/login', [], login(TOKEN))).statuses, [429], 'and so is the cookie login, from the same address')
  t.same((await send('GET', '/health')).statuses, [200], 'GET /health is answered to anyone still')
})

t.test('failed cookie logins count the same', async t => {
  const { send } = await adminListener(t)
  for (let i = 0; i < 10; i++) t.same((await send('POST', '/login', [], login(`wrong-guess-${i}-0123456789`))).statuses, [401])
  const locked = await send('POST', '/login', [], login(TOKEN))
  t.same(locked.statuses, [429])
  t.ok(Number(header(locked, 'retry-after')) >= 1)
  t.same((await send('GET', '/upstreams', bearer(TOKEN))).statuses, [429], 'the Bearer token from that address too')
})

t.test('a login cookie is a random session with an expiry, revoked on logout', async t => {
  const { send } = await adminListener(t)
  const first = await send('POST', '/login', [], login(TOKEN))
  const second = await send('POST', '/login', [], login(TOKEN))
  t.same([first.statuses, second.statuses], [[204], [204]])
  const cookie = header(first, 'set-cookie') ?? ''
  t.match(cookie, /^gh_admin=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/, 'expires after 12 h by default')
  const id = cookie.slice(0, cookie.indexOf(';'))
  const other = (header(second, 'set-cookie') ?? '').split(';')[0]
  t.not(id, other, 'each login has its own random value')
  t.same((await send('GET', '/upstreams', [`Cookie: ${id}`])).statuses, [200])
  t.same((await send('POST', '/logout', [`Cookie: ${id}`])).statuses, [204])
  t.same((await send('GET', '/upstreams', [`Cookie: ${id}`])).statuses, [401], 'a logged-out cookie is refused by the server, not only cleared in the browser')
  t.same((await send('GET', '/upstreams', [`Cookie: ${other}`])).statuses, [200], 'another login lives on')
  t.same((await send('GET', '/upstreams', ['Cookie: gh_admin=forged'])).statuses, [401])
  t.match((await send('GET', '/', [`Cookie: ${other}`])).text, /const signedIn = true/, 'the page knows a session')
  t.match((await send('GET', '/', bearer(TOKEN))).text, /const signedIn = false/, 'but not a Bearer header: the page would otherwise tell right guesses from wrong ones, uncounted')
})

t.test('admin.sessionTtl: a session ends when it runs out', async t => {
  const { send } = await adminListener(t, { sessionTtl: '300ms' })
  const answer = await send('POST', '/login', [], login(TOKEN))
  t.match(header(answer, 'set-cookie'), /; Max-Age=1$/, 'Max-Age in whole seconds, rounded up')
  const id = (header(answer, 'set-cookie') ?? '').split(';')[0]
  t.same((await send('GET', '/upstreams', [`Cookie: ${id}`])).statuses, [200])
  await waitFor(async () => (await send('GET', '/upstreams', [`Cookie: ${id}`])).statuses[0] === 401, { timeout: 3000, what: 'the session to expire' })
  t.pass('expired')
})

t.test('the Host check reads Host strictly', async t => {
  const { port } = await adminListener(t)
  for (const host of ['[::1]evil.example', '[::1]:1evil', '127.0.0.1@evil.example', '127.0.0.1.evil.example', '[127.0.0.1]', 'localhost:x']) {
    const answer = await rawRequest(port, `GET /upstreams HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)
    t.ok(answer.statuses[0] === 421 || answer.statuses[0] === 400, `${host}: refused (${answer.statuses[0]})`)
  }
  for (const host of ['127.0.0.1', `127.0.0.1:${port}`, '[::1]', `[::1]:${port}`, 'localhost']) {
    const answer = await rawRequest(port, `GET /upstreams HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)
    t.same(answer.statuses, [200], host)
  }
})

t.test('a failed-attempt window ends, and a new one starts with the next failure', async t => {
  let now = 0
  const f = new FailedLogins(2, 1000, () => now)
  f.failed('a')
  t.equal(f.retryAfter('a'), 0)
  f.failed('a')
  t.equal(f.retryAfter('a'), 1)
  t.equal(f.retryAfter('b'), 0, 'per address')
  now = 1000
  t.equal(f.retryAfter('a'), 0, 'the window ended')
  f.failed('a')
  t.equal(f.retryAfter('a'), 0)
})

t.test('admin.sessionTtl: a bad value fails at start naming the field', async t => {
  const { normalizeConfig } = await import('../../lib/config/index')
  const base = { upstreams: { u: { servers: [{ url: 'http://127.0.0.1:1' }] } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }
  t.throws(() => normalizeConfig({ ...base, admin: { port: 0, token: TOKEN, sessionTtl: 0 } }), /admin\.sessionTtl/)
  t.throws(() => normalizeConfig({ ...base, admin: { port: 0, token: TOKEN, sessionTtl: 'soon' } }), /admin\/sessionTtl|admin\.sessionTtl/)
  t.equal(normalizeConfig({ ...base, admin: { port: 0, token: TOKEN } }).admin?.sessionTtl, 12 * 60 * 60 * 1000, 'default 12 h')
})
