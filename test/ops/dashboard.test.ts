import t from 'tap'
import { request } from 'undici'
import { call, startBackend, startGateway } from '../helper'
import { waitFor } from '../wait'
import { admin, TOKEN } from './admin-client'

/** The first server-sent event of /events, parsed. */
async function firstEvent (url: string, headers: Record<string, string>): Promise<any> {
  const ac = new AbortController()
  const res = await request(`${url}/events`, { headers, signal: ac.signal })
  if (res.statusCode !== 200) { await res.body.text(); return { status: res.statusCode } }
  let text = ''
  for await (const chunk of res.body) {
    text += chunk.toString()
    const end = text.indexOf('\n\n')
    if (end !== -1) {
      ac.abort()
      return { status: 200, type: res.headers['content-type'], data: JSON.parse(text.slice(text.indexOf('data: ') + 6, end)) }
    }
  }
  throw new Error('no event')
}

t.test('the page is served self-contained; login sets an httpOnly SameSite=Strict cookie the API accepts', async t => {
  const a = await startBackend(t, 'a')
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: { u: { servers: [{ url: a.url, id: 'a' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const url = gw.app.gatehouse.adminUrl as string
  const page = await admin(url, 'GET', '/')
  t.equal(page.status, 200, 'the page loads without a token: it holds no data, only the login form')
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.headers['content-security-policy'], /default-src 'none'/)
  // The only absolute url is the SVG namespace, a name that is never fetched.
  t.same(page.body.match(/https?:\/\/[^'"\s]*/g), ['http://www.w3.org/2000/svg'], 'nothing from elsewhere')
  t.match(page.body, /const guarded = true\nconst signedIn = false/)

  t.equal((await admin(url, 'POST', '/login', { body: { token: 'wrong-token-wrong-token' } })).status, 401)
  const login = await admin(url, 'POST', '/login', { body: { token: TOKEN } })
  t.equal(login.status, 204)
  const cookie = String(login.headers['set-cookie'])
  t.match(cookie, /^gh_admin=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/)
  t.notOk(cookie.includes(TOKEN), 'the cookie is not the token')
  const session = cookie.split(';')[0]

  t.equal((await admin(url, 'GET', '/upstreams', { headers: { cookie: session } })).status, 200, 'the cookie is accepted like the Bearer header')
  t.equal((await admin(url, 'GET', '/upstreams', { headers: { cookie: 'gh_admin=forged' } })).status, 401)
  t.match((await admin(url, 'GET', '/', { headers: { cookie: session } })).body, /const signedIn = true/)
  const drained = await admin(url, 'PATCH', '/upstreams/u/servers/a', { headers: { cookie: session }, body: { state: 'drain' } })
  t.equal(drained.status, 200, 'the buttons\' call works with the cookie')

  t.same(await firstEvent(url, {}), { status: 401 }, 'no events without the token')
  const event = await firstEvent(url, { cookie: session })
  t.match(event.type, /^text\/event-stream/)
  t.match(event.data.upstreams, [{ name: 'u', requests: 0, latency: Array, servers: [{ id: 'a', state: 'draining', removing: false }] }])
  t.equal(event.data.buckets.length, event.data.upstreams[0].latency.length)
})

t.test('the dashboard shows each split route\'s weights and shares, as changed at run time', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: { v1: { servers: [{ url: a.url }] }, v2: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/one' }, upstream: 'v1' }, { match: { path: '/*' }, upstream: [{ name: 'v1', weight: 95 }, { name: 'v2', weight: 5 }] }]
  })
  const url = gw.app.gatehouse.adminUrl as string
  const auth = { authorization: `Bearer ${TOKEN}` }
  t.same((await firstEvent(url, auth)).data.splits, [{ route: 1, path: '/*', split: [{ name: 'v1', weight: 95, percent: 95 }, { name: 'v2', weight: 5, percent: 5 }] }])
  await admin(url, 'PATCH', '/routes/1/split', { token: TOKEN, body: { weights: { v1: 1, v2: 2 } } })
  t.same((await firstEvent(url, auth)).data.splits[0].split, [{ name: 'v1', weight: 1, percent: 33.33 }, { name: 'v2', weight: 2, percent: 66.67 }], 'the weights in force')
  const page = (await admin(url, 'GET', '/', { token: TOKEN })).body
  t.match(page, /<section id="splits"[^>]*hidden>/, 'a section the page fills from the events')
  t.match(page, /function renderSplits/)

  const plain = await startGateway(t, { admin: { port: 0 }, upstreams: { v1: { servers: [{ url: a.url }] } }, routes: [{ match: { path: '/*' }, upstream: 'v1' }] })
  t.same((await firstEvent(plain.app.gatehouse.adminUrl as string, {})).data.splits, [], 'no split: none shown')
})

t.test('the dashboard shows each mirror group\'s copies by outcome, next to the splits', async t => {
  const a = await startBackend(t, 'a')
  const shadow = await startBackend(t, 'shadow')
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: { app: { servers: [{ url: a.url }] }, shadow: { servers: [{ url: shadow.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'app', mirror: { upstream: 'shadow', percent: 100 } }]
  })
  const url = gw.app.gatehouse.adminUrl as string
  const auth = { authorization: `Bearer ${TOKEN}` }
  t.same((await firstEvent(url, auth)).data.mirrors, [{ upstream: 'shadow', sent: 0, answered: 0, failed: 0, dropped: 0, skipped: 0 }], 'every outcome at zero from the start')
  for (let i = 0; i < 3; i++) t.equal((await call(`${gw.url}/x`)).status, 200)
  await waitFor(() => shadow.hits.length === 3, { what: 'three copies at the mirror' })
  await shadow.kill()
  t.equal((await call(`${gw.url}/x`)).status, 200, 'the client is answered while the mirror is down')
  await waitFor(async () => (await firstEvent(url, auth)).data.mirrors[0].failed === 1, { what: 'the failed copy counted' })
  t.same((await firstEvent(url, auth)).data.mirrors, [{ upstream: 'shadow', sent: 4, answered: 3, failed: 1, dropped: 0, skipped: 0 }], 'as gatehouse_mirror_requests_total counts them')
  const page = (await admin(url, 'GET', '/', { token: TOKEN })).body
  t.match(page, /<section id="splits"[^>]*hidden>.*<\/section>\n<section id="mirrors"[^>]*hidden>/, 'a section beside the splits, filled from the events')
  t.match(page, /function renderMirrors/)

  const plain = await startGateway(t, { admin: { port: 0 }, upstreams: { v1: { servers: [{ url: a.url }] } }, routes: [{ match: { path: '/*' }, upstream: 'v1' }] })
  t.same((await firstEvent(plain.app.gatehouse.adminUrl as string, {})).data.mirrors, [], 'no mirror: none shown')
})
