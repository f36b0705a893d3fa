import t from 'tap'
import { compileTemplate, unknownPlaceholders } from '../../lib/filters/header-template'
import { applyToRequest, applyToResponse, compileRules, headerNameProblem, type RequestHeaders } from '../../lib/filters/header-rules'

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
