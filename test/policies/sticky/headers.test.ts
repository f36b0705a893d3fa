import t from 'tap'
import { startBackend, startGateway, call, type Reply } from '../../helper'
import type { GatehouseConfig } from '../../../lib/config'

const SECRET = 'sticky-test-secret-0123456789abcdef'

function allSetCookies (res: Reply): string[] {
  const raw = res.headers['set-cookie']
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
}

function config (url: string): GatehouseConfig {
  return {
    cookieSecret: SECRET,
    upstreams: { app: { servers: [{ url }], sticky: { cookie: 'gh_sticky' } } },
    routes: [{ match: { path: '/*' }, upstream: 'app' }]
  } as GatehouseConfig
}

t.test('a backend\'s own Set-Cookie headers reach the client next to ours', async t => {
  const a = await startBackend(t, 'a')
  a.handle((req, res) => {
    res.setHeader('set-cookie', req.url === '/two' ? ['session=abc; Path=/; HttpOnly', 'theme=dark'] : 'session=abc; Path=/; HttpOnly')
    res.end('ok')
  })
  const gw = await startGateway(t, config(a.url))

  let cookies = allSetCookies(await call(`${gw.url}/one`))
  t.equal(cookies.length, 2)
  t.ok(cookies.includes('session=abc; Path=/; HttpOnly'), 'the backend\'s cookie, unchanged')
  t.ok(cookies.some(c => c.startsWith('gh_sticky=')), 'and ours')

  cookies = allSetCookies(await call(`${gw.url}/two`))
  t.equal(cookies.length, 3)
  t.ok(cookies.includes('theme=dark'))
  t.ok(cookies.some(c => c.startsWith('gh_sticky=')))

  const held = cookies.find(c => c.startsWith('gh_sticky='))?.split(';')[0] as string
  cookies = allSetCookies(await call(`${gw.url}/two`, { headers: { cookie: held } }))
  t.same(cookies, ['session=abc; Path=/; HttpOnly', 'theme=dark'], 'a sticking request passes the backend\'s cookies alone')
})

t.test('the client\'s other cookies reach the backend; the gateway\'s does not', async t => {
  const a = await startBackend(t, 'a')
  const gw = await startGateway(t, config(a.url))
  const first = await call(`${gw.url}/x`)
  const ours = allSetCookies(first)[0].split(';')[0]

  await call(`${gw.url}/x`, { headers: { cookie: `lang=en; ${ours}; cart="a b"` } })
  t.equal(a.hits.at(-1)?.headers.cookie, 'lang=en; cart="a b"')

  await call(`${gw.url}/x`, { headers: { cookie: ours } })
  t.equal(a.hits.at(-1)?.headers.cookie, undefined, 'no empty Cookie header left behind')

  await call(`${gw.url}/x`, { headers: { cookie: 'gh_sticky_other=1; xgh_sticky=2' } })
  t.equal(a.hits.at(-1)?.headers.cookie, 'gh_sticky_other=1; xgh_sticky=2', 'cookies with similar names are not ours')
})
