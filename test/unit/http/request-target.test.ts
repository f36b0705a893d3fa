import t from 'tap'
import { absoluteTarget, isValidHost, originTarget } from '../../../lib/http/request-target'

t.test('originTarget returns the same string when nothing needs normalising', async t => {
  const s = '/a/b.c/..d/...?x=/../\\#%zz'
  t.equal(originTarget(s), s)
  t.equal(originTarget('/'), '/')
  t.equal(originTarget('/a/.b/b./.../'), '/a/.b/b./.../')
})

t.test('originTarget decodes unreserved encodings only, in the path only', async t => {
  t.equal(originTarget('/%61%41%30%2D%2e%5F%7e%7E'), '/aA0-._~~')
  t.equal(originTarget('/%2F%2f%3F%25%20%C3%A9%5C'), '/%2F%2f%3F%25%20%C3%A9%5C')
  t.equal(originTarget('/%2561'), '/%2561', 'decoded once, never twice')
  t.equal(originTarget('/a%62?%63'), '/ab?%63')
})

t.test('originTarget refuses backslashes, fragments, dot segments, NUL and broken encodings', async t => {
  for (const s of ['/a\\b', '/a#b', '/.', '/..', '/a/./b', '/a/../b', '/a/..?q', '/%2e', '/%2E%2e/', '/a/.%2e', '/%00', '/%zz', '/%4', '/a%', '/%%41', '/%4g']) {
    t.throws(() => originTarget(s), { name: 'TargetError' }, s)
  }
})

t.test('absoluteTarget splits authority and origin-form target', async t => {
  t.same(absoluteTarget('http://a.test/x?y'), { host: 'a.test', target: '/x?y' })
  t.same(absoluteTarget('HTTPS://A.test:8443'), { host: 'A.test:8443', target: '/' })
  t.same(absoluteTarget('http://a.test?q'), { host: 'a.test', target: '/?q' })
  t.same(absoluteTarget('http://[::1]:80/%61'), { host: '[::1]:80', target: '/a' })
  for (const s of ['ftp://a/x', 'a.test/x', 'http:/a/x', 'http://u@a/x', 'http:///x', 'http://a b/x', 'http://a/..', 'http://a#x']) {
    t.throws(() => absoluteTarget(s), { name: 'TargetError' }, s)
  }
})

t.test('isValidHost accepts host[:port] and refuses anything else', async t => {
  for (const h of ['a', 'a.test', 'a.test.', 'A-b_c~d.test', '10.0.0.1', '10.0.0.1:65535', '[::1]', '[::ffff:10.0.0.1]:1', 'x:0']) t.ok(isValidHost(h), h)
  for (const h of ['', ':80', 'a:', 'a:65536', 'a:123456', 'a:8x', 'a b', 'a/b', 'a@b', 'a\\b', 'a..b', '.a', '[::1', '[]', '[g::1]', '[::1]x', 'a%41', 'a,b', 'é']) t.notOk(isValidHost(h), h)
})
