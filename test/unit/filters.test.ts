import t from 'tap'
import { compileTemplate, unknownPlaceholders } from '../../lib/filters/header-template'
import { applyToRequest, applyToResponse, compileRules, headerNameProblem, type RequestHeaders } from '../../lib/filters/header-rules'
import bcrypt from 'bcryptjs'
import { BasicAuth, bcryptHashProblem, parseBasic } from '../../lib/filters/basic-auth'
import { parseSize } from '../../lib/config/size'
import { addressAllowed, IpList, parseRange } from '../../lib/filters/ip-list'

t.test('header-rules', async t => {
  const source = { host: 'gw.test:8080', url: '/a/b?c=1', ip: '10.0.0.1', requestId: 'rid' }

  t.test('templates', async t => {
    t.equal(compileTemplate('{clientIp}|{host}|{path}|{query}|{requestId}')(source), '10.0.0.1|gw.test:8080|/a/b|?c=1|rid')
    t.equal(compileTemplate('plain')(source), 'plain')
    t.equal(compileTemplate('{path}{query}')({ ...source, url: '/x' }), '/x')
    t.same(unknownPlaceholders('{path} {hots} {}'), ['{hots}', '{}'])
  })

  t.test('names that a rule may not touch', async t => {
    for (const name of ['host', 'Connection', 'keep-alive', 'TE', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'content-length']) {
      t.ok(headerNameProblem(name), name)
    }
    t.ok(headerNameProblem('bad name'))
    t.equal(headerNameProblem('X-Env'), undefined)
  })

  t.test('request rules: remove, set, add (joined as repeated headers are)', async t => {
    const headers: RequestHeaders = { 'x-a': 'old', 'x-b': 'one', cookie: 'a=1', 'x-gone': '1' }
    applyToRequest(headers, compileRules({ set: [['x-a', 'new {clientIp}']], add: [['x-b', 'two'], ['cookie', 'b=2'], ['x-c', 'c']], remove: ['x-gone'] }), source)
    t.same(headers, { 'x-a': 'new 10.0.0.1', 'x-b': 'one, two', cookie: 'a=1; b=2', 'x-c': 'c' })
  })

  t.test('response rules', async t => {
    const out = new Map<string, unknown>([['server', 'x'], ['vary', 'accept'], ['set-cookie', ['a=1']]])
    const reply = {
      getHeader: (n: string) => out.get(n),
      header: (n: string, v: unknown) => {
        // As Fastify does: set-cookie accumulates.
        if (n === 'set-cookie' && out.has(n)) out.set(n, [...(out.get(n) as string[]), v])
        else out.set(n, v)
      },
      removeHeader: (n: string) => out.delete(n)
    }
    applyToResponse(reply, compileRules({ set: [['set-cookie', 'only=1'], ['x-id', '{requestId}']], add: [['vary', 'origin']], remove: ['server'] }), source)
    t.same(Object.fromEntries(out), { vary: ['accept', 'origin'], 'set-cookie': 'only=1', 'x-id': 'rid' })
  })
})

t.test('basic-auth', async t => {
  t.test('parseBasic', async t => {
    const b64 = (s: string) => Buffer.from(s).toString('base64')
    t.same(parseBasic(`Basic ${b64('alice:pa:ss')}`), { user: 'alice', password: 'pa:ss' }, 'the password starts after the first colon')
    t.same(parseBasic(`basic ${b64('é:ü')}`), { user: 'é', password: 'ü' }, 'scheme case-insensitive, UTF-8')
    t.equal(parseBasic(`Basic ${b64('nocolon')}`), undefined)
    t.equal(parseBasic('Bearer x'), undefined)
    t.equal(parseBasic('Basic !!!'), undefined)
    t.equal(parseBasic(undefined), undefined)
  })

  t.test('BasicAuth.verify', async t => {
    const auth = new BasicAuth({ alice: bcrypt.hashSync('pw', 4) })
    const h = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`
    t.equal(await auth.verify(h('alice', 'pw')), 'alice')
    t.equal(await auth.verify(h('alice', 'pw')), 'alice', 'cached')
    t.equal(await auth.verify(h('alice', 'PW')), null)
    t.equal(await auth.verify(h('bob', 'pw')), null)
    t.equal(bcryptHashProblem(bcrypt.hashSync('x', 4)), undefined)
    t.ok(bcryptHashProblem('$1$md5crypt'))
  })

  t.test('parseSize', async t => {
    t.equal(parseSize(10), 10)
    t.equal(parseSize('512B'), 512)
    t.equal(parseSize('1.5KB'), 1536)
    t.equal(parseSize('10MB'), 10 * 1024 * 1024)
    t.equal(parseSize('1GiB'), 1024 ** 3)
    t.throws(() => parseSize('10 MB'))
  })
})

t.test('ip-list', async t => {
  t.test('parseRange takes CIDRs and addresses, strict IPv4, mapped IPv6 as IPv4', async t => {
    t.same(parseRange('10.0.0.0/8')?.map(String), ['10.0.0.0', '8'])
    t.same(parseRange('10.1.2.3')?.map(String), ['10.1.2.3', '32'])
    t.same(parseRange('2001:db8::/32')?.map(String), ['2001:db8::', '32'])
    t.same(parseRange('::1')?.map(String), ['::1', '128'])
    t.same(parseRange('::ffff:10.0.0.0/104')?.map(String), ['10.0.0.0', '8'])
    for (const bad of ['10.1', '0x0a.0.0.1', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', 'fe80::1%eth0', 'localhost', '', '10.0.0.0/8/8']) {
      t.equal(parseRange(bad), undefined, bad)
    }
  })

  t.test('matching: IPv4, IPv6, mapped clients; deny wins; an empty allow lets all in', async t => {
    const allow = new IpList(['10.0.0.0/8', '2001:db8::/32'])
    const deny = new IpList(['10.1.2.3', '2001:db8:dead::/48'])
    const none = new IpList([])
    t.ok(addressAllowed('10.9.9.9', allow, deny))
    t.notOk(addressAllowed('10.1.2.3', allow, deny))
    t.ok(addressAllowed('::ffff:10.9.9.9', allow, deny), 'an IPv4-mapped client matches the IPv4 range')
    t.notOk(addressAllowed('::ffff:10.1.2.3', allow, deny))
    t.ok(addressAllowed('2001:db8::1', allow, deny))
    t.notOk(addressAllowed('2001:db8:dead::1', allow, deny))
    t.notOk(addressAllowed('192.168.0.1', allow, deny))
    t.notOk(addressAllowed('not an address', allow, none), 'an unreadable address is not allowed by a list')
    t.ok(addressAllowed('192.168.0.1', none, deny))
    t.notOk(addressAllowed('10.1.2.3', none, deny))
    t.notOk(new IpList(['10.0.0.0/8']).has('::a00:1'), 'an IPv6 address is not in an IPv4 range unless mapped')
  })
})
