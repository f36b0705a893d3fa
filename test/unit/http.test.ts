import t from 'tap'
import { forwardRequestHeaders, forwardRequestHeadersInPlace, withoutHopByHop } from '../../lib/http/forward-headers'
import { absoluteTarget, isValidHost, originTarget } from '../../lib/http/request-target'
import { watchSend } from '../../lib/http/stall-timer'
import { PassThrough } from 'node:stream'
import { sleep, waitFor } from '../wait'

t.test('forward-headers', async t => {
  t.test('hop-by-hop headers and those Connection names are left out of the copy', async t => {
    const headers = {
      connection: 'keep-alive, X-Custom , x-other',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      trailer: 'x-sum',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'proxy-authorization': 'Basic x',
      'proxy-connection': 'keep-alive',
      expect: '100-continue',
      'x-custom': 'gone',
      'x-other': 'gone too',
      'x-kept': 'kept',
      'content-type': 'text/plain',
      'x-empty': undefined
    }
    const out = withoutHopByHop(headers)
    t.same(out, { 'x-kept': 'kept', 'content-type': 'text/plain' })
    t.equal(headers['x-custom'], 'gone', 'the input is not changed')
  })

  t.test('forwarding headers', async t => {
    const client = { ip: '10.0.0.7', protocol: 'https' as const, host: 'shop.example.com', requestId: 'r1' }
    let out = forwardRequestHeaders({ host: '127.0.0.1:9001', 'x-forwarded-for': '203.0.113.1, 198.51.100.2' }, client, true)
    t.same(out, {
      host: 'shop.example.com',
      'x-forwarded-for': '203.0.113.1, 198.51.100.2, 10.0.0.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'shop.example.com',
      'x-request-id': 'r1'
    })
    out = forwardRequestHeaders({ host: '127.0.0.1:9001', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'spoofed' }, client, false)
    t.equal(out.host, '127.0.0.1:9001', 'the backend host when not preserved')
    t.equal(out['x-forwarded-proto'], 'https', 'proto is this hop\'s, not the client\'s claim')
    t.equal(out['x-forwarded-host'], 'shop.example.com')
    t.equal(out['x-forwarded-for'], '10.0.0.7')
  })
})

t.test('request-target', async t => {
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
})

t.test('stall-timer watchSend', async t => {
  t.test('many short pauses that add up past the limit are a slow reader, not a stalled one; one long pause is', async t => {
    const source = new PassThrough()
    source.resume()
    let stalls = 0
    // A limit twenty times each pause, so that a loaded machine stretching a 20 ms pause cannot
    // make one pause last it: 24 pauses of ~20 ms, 480 ms paused in all, never 400 in one go.
    watchSend(source, 400, () => { stalls++ })
    for (let i = 0; i < 24; i++) {
      source.pause()
      await sleep(20)
      source.resume()
      await sleep(5)
    }
    t.equal(stalls, 0, 'no pause lasted the limit')
    source.pause()
    await waitFor(() => stalls === 1, { what: 'the stall of a pause that lasts' })
    t.equal(stalls, 1, 'cut once')
  })

  t.test('an answer that ends while paused stops the watch', async t => {
    const source = new PassThrough()
    source.resume()
    let stalls = 0
    watchSend(source, 30, () => { stalls++ })
    source.pause()
    source.destroy()
    await sleep(60)
    t.equal(stalls, 0, 'nothing fires after close')
  })
})

t.test('PROXY protocol header: what encodeProxyHeader writes, parseProxyHeader reads back', async t => {
  const { encodeProxyHeader, parseProxyHeader, V2_SIGNATURE } = await import('../../lib/http/proxy-protocol-header')
  const cases: Array<[string, { address: string, port: number }, { address: string, port: number }, string, string]> = [
    ['IPv4', { address: '10.1.2.3', port: 40000 }, { address: '10.9.9.9', port: 80 }, '10.1.2.3', 'IPv4'],
    ['IPv6', { address: '2001:db8::7', port: 1 }, { address: '::1', port: 443 }, '2001:db8::7', 'IPv6'],
    ['IPv4-mapped client, IPv4 backend', { address: '::ffff:10.1.2.3', port: 5 }, { address: '10.0.0.1', port: 80 }, '10.1.2.3', 'IPv4'],
    ['IPv4 client, IPv6 backend', { address: '10.1.2.3', port: 5 }, { address: '2001:db8::1', port: 80 }, '::ffff:10.1.2.3', 'IPv6']
  ]
  for (const version of ['v1', 'v2'] as const) {
    for (const [name, src, dst, address, family] of cases) {
      const header = encodeProxyHeader(version, src, dst)
      const parsed = parseProxyHeader(Buffer.concat([header, Buffer.from('GET / HTTP/1.1\r\n')]))
      t.match(parsed, { kind: 'header', version: version === 'v1' ? 1 : 2, length: header.length, source: { address, port: src.port, family } }, `${version} ${name}`)
    }
  }
  t.same(parseProxyHeader(encodeProxyHeader('v2', undefined, { address: '10.0.0.1', port: 80 })), { kind: 'header', version: 2, length: 16 }, 'v2 LOCAL: no source')
  t.same(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 ')), { kind: 'incomplete' })
  t.same(parseProxyHeader(V2_SIGNATURE.subarray(0, 7)), { kind: 'incomplete' })
  t.same(parseProxyHeader(Buffer.from('PROPFIND / HTTP/1.1\r\n')), { kind: 'none' }, 'a WebDAV method is no header')
  t.same(parseProxyHeader(Buffer.from([0x16, 0x03, 0x01])), { kind: 'none' }, 'nor a TLS ClientHello')
  t.match(parseProxyHeader(Buffer.from('PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n')), { kind: 'invalid' }, 'no leading zeroes in v1 addresses')
  t.match(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n')), { kind: 'invalid' }, 'nor in ports')
  t.match(parseProxyHeader(Buffer.from('PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n')), { kind: 'invalid' }, 'TCP6 with IPv4 addresses')
})

t.test('forwardRequestHeadersInPlace: the same fields as forwardRequestHeaders, on the object given, the dropped ones undefined', async t => {
  const client = { ip: '10.0.0.9', protocol: 'https' as const, host: 'shop.example', requestId: 'r-1' }
  const given = () => ({ host: 'shop.example', connection: 'close, x-secret', 'x-secret': '1', 'keep-alive': 'timeout=5', te: 'trailers', 'proxy-authorization': 'Basic eA==', 'x-forwarded-for': '1.2.3.4', accept: '*/*' })
  const copied = forwardRequestHeaders(given(), client, false)
  const headers = given()
  const inPlace = forwardRequestHeadersInPlace(headers, client.ip, client.protocol, client.host, client.requestId, false)
  t.equal(inPlace, headers, 'no copy')
  const defined = Object.fromEntries(Object.entries(inPlace).filter(([, v]) => v !== undefined))
  t.same(defined, copied)
  t.equal(defined['x-forwarded-for'], '1.2.3.4, 10.0.0.9')
  t.notOk('x-secret' in defined, 'a header Connection names is dropped')
})
