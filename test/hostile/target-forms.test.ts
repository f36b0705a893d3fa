import t from 'tap'
import { lastBody, rawRequest, request } from './raw'
import { gatewayWithRecorder } from './setup'

// Absolute-form (RFC 9112 §3.2.2) and asterisk-form (§3.2.4) targets: legal request lines a
// browser never sends, which must neither make the gateway an open proxy nor reach a backend
// by another path than the one routed.

t.test('an absolute-form target is routed on its path, and its host replaces Host', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  const answer = await rawRequest(port, request('GET http://Only.Example.com:8080/only/x?y=1 HTTP/1.1', ['Host: other.test']))
  tt.same(answer.statuses, [200], answer.text)
  tt.same(backend.lines, ['GET /only/x?y=1 HTTP/1.1'])
  tt.match(backend.heads[0], /\r\nhost: Only\.Example\.com:8080\r\n/i)
  tt.match(backend.heads[0], /\r\nx-forwarded-host: Only\.Example\.com:8080\r\n/i)
})

t.test('absolute-form: stripPrefix and normalisation apply as for origin-form', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  const answer = await rawRequest(port, request('GET HTTPS://a.test/%61pp/b?c HTTP/1.1'))
  tt.same(answer.statuses, [200], answer.text)
  const empty = await rawRequest(port, request('GET http://a.test HTTP/1.1'))
  tt.same(empty.statuses, [200], empty.text)
  tt.same(backend.lines, ['GET /b?c HTTP/1.1', 'GET / HTTP/1.1'])
})

t.test('absolute-form never reaches a host that no route names (no open proxy)', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  // The host constraint of /only/* is not met: the catch-all route's backend gets it, as with that Host header.
  const answer = await rawRequest(port, request('GET http://127.0.0.1:1/only/x HTTP/1.1'))
  tt.same(answer.statuses, [200], answer.text)
  tt.same(backend.lines, ['GET /only/x HTTP/1.1'], 'the configured backend, never 127.0.0.1:1')
})

t.test('absolute-form targets that are not http(s) or carry userinfo or a bad host are refused', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  for (const target of ['ftp://a.test/x', 'http://user:pw@a.test/x', 'http://a b/x', 'http:///x', 'http://a.test/x\\..\\y', 'http://a.test/%2e%2e/x', 'a.test/x']) {
    const answer = await rawRequest(port, request(`GET ${target} HTTP/1.1`))
    tt.same(answer.statuses, [400], `${target} → ${answer.text}`)
  }
  tt.same(backend.lines, [])
})

t.test('OPTIONS * is answered by the gateway', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  const answer = await rawRequest(port, request('OPTIONS * HTTP/1.1'))
  tt.same(answer.statuses, [200], answer.text)
  tt.match(answer.text, /\r\nallow: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT\r\n/i)
  tt.match(answer.text, /\r\ncontent-length: 0\r\n/i)
  tt.equal(lastBody(answer.text), '')
  tt.same(backend.lines, [], 'not forwarded as OPTIONS /*')
})

t.test('any other method with * is refused', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  for (const method of ['GET', 'POST', 'HEAD', 'DELETE']) {
    const answer = await rawRequest(port, request(`${method} * HTTP/1.1`, ['Host: a.test', 'Content-Length: 0']))
    tt.same(answer.statuses, [400], `${method} * → ${answer.text}`)
  }
  tt.same(backend.lines, [])
})
