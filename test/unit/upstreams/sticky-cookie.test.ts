import t from 'tap'
import { Signer } from '@fastify/cookie'
import type { IncomingHttpHeaders } from 'node:http'
import { Upstream } from '../../../lib/upstreams/upstream'
import { normalizeConfig } from '../../../lib/config'
import { TokenCache, encodeClaim, readClaim, reloadableSigner, sharedCookieNames, takeCookie } from '../../../lib/upstreams/sticky-cookie'

const SECRET = 'sticky-test-secret-0123456789abcdef'

function upstream (name: string, urls: string[]): Upstream {
  const config = normalizeConfig({ upstreams: { [name]: { servers: urls.map(url => ({ url })) } }, routes: [{ match: { path: '/*' }, upstream: name }] }, { env: {} })
  return new Upstream(config.upstreams.get(name)!)
}

t.test('a claim survives encoding and signing; tampered, malformed and expired ones do not', async t => {
  const signer = new Signer(SECRET)
  const now = 1_700_000_000_000
  const value = signer.sign(encodeClaim({ token: 'abc', expires: now + 1000 }))
  t.same(readClaim(signer.unsign(value), now), { token: 'abc', expires: now + 1000 })
  t.equal(readClaim(signer.unsign(value), now + 1000), undefined, 'expired at its expiry')
  t.equal(readClaim(signer.unsign('x' + value), now), undefined, 'tampered')
  t.equal(readClaim(new Signer('another-secret-another-secret-another').unsign(value), now), undefined, 'another secret')
  t.equal(readClaim({ valid: true, value: 'noexpiry' }, now), undefined, 'no dot')
  t.equal(readClaim({ valid: true, value: '.abc' }, now), undefined, 'no token')
  t.equal(readClaim({ valid: true, value: 'abc.!!' }, now), undefined, 'expiry not a number')
  t.equal(readClaim({ valid: true, value: null }, now), undefined)
})

t.test('takeCookie removes only the named cookie from the header the backend gets', async t => {
  const headers: IncomingHttpHeaders = { cookie: 'a=1; gh_sticky=v; b=2' }
  t.equal(takeCookie(headers, 'gh_sticky'), 'v')
  t.equal(headers.cookie, 'a=1; b=2')

  const alone: IncomingHttpHeaders = { cookie: 'gh_sticky=v' }
  t.equal(takeCookie(alone, 'gh_sticky'), 'v')
  t.notOk('cookie' in alone, 'no empty Cookie header is left')

  const prefix: IncomingHttpHeaders = { cookie: 'gh_sticky_other=1' }
  t.equal(takeCookie(prefix, 'gh_sticky'), undefined, 'a longer name is another cookie')
  t.equal(prefix.cookie, 'gh_sticky_other=1')

  t.equal(takeCookie({}, 'gh_sticky'), undefined)
  t.equal(takeCookie({ cookie: 'gh_sticky=first; gh_sticky=second' }, 'gh_sticky'), 'first', 'the first of two wins')
  t.equal(takeCookie({ cookie: 'gh_sticky="quoted"' }, 'gh_sticky'), 'quoted')
  t.equal(takeCookie({ cookie: 'gh_sticky=a%3Ab' }, 'gh_sticky'), 'a:b')
  t.equal(takeCookie({ cookie: 'gh_sticky=%E0%A4%A' }, 'gh_sticky'), '%E0%A4%A', 'broken percent-encoding is kept as it is')
})

t.test('tokens are opaque, stable per secret, and found among the current servers only', async t => {
  let secret = SECRET
  const tokens = new TokenCache(() => secret)
  const u = upstream('app', ['http://127.0.0.1:9001', 'http://127.0.0.1:9002'])
  const [a, b] = u.backends.all()
  const ta = tokens.of(u, a)
  t.match(ta, /^[A-Za-z0-9_-]{16}$/)
  t.notMatch(ta, /9001|127/, 'reveals no address')
  t.not(tokens.of(u, b), ta)
  t.equal(tokens.of(u, a), ta, 'cached')
  t.equal(tokens.find(u, ta), a)
  t.equal(tokens.find(u, 'unknown'), undefined)
  const other = upstream('other', ['http://127.0.0.1:9001'])
  t.not(tokens.of(other, other.backends.all()[0]), ta, 'the same server in another upstream: another token')
  t.equal(new TokenCache(() => SECRET).of(u, a), ta, 'another instance with the same secret agrees')

  secret = 'a-changed-secret-a-changed-secret-00'
  t.not(tokens.of(u, a), ta, 'a new secret gives new tokens')
  t.equal(tokens.find(u, ta), undefined)
})

t.test('the reloadable signer follows the secret in force', async t => {
  let secret: string | undefined
  const signer = reloadableSigner(() => secret)
  t.throws(() => signer.sign('x'), /cookieSecret is not set/)
  secret = SECRET
  const signed = signer.sign('x')
  t.same(signer.unsign(signed), new Signer(SECRET).unsign(signed))
  t.equal(signed, new Signer(SECRET).sign('x'), 'the same signature as @fastify/cookie\'s')
  secret = 'a-changed-secret-a-changed-secret-00'
  t.equal(signer.unsign(signed).valid, false)
})

t.test('cookie names shared by sticky upstreams are reported', async t => {
  t.same(sharedCookieNames([
    { name: 'a', sticky: { cookie: 's' } },
    { name: 'b' },
    { name: 'c', sticky: { cookie: 's' } },
    { name: 'd', sticky: { cookie: 'other' } }
  ]), [{ cookie: 's', upstreams: ['a', 'c'] }])
})
