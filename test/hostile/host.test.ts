import t from 'tap'
import { lastBody, rawRequest, request } from './raw'
import { gatewayWithRecorder } from './setup'

// RFC 9112 §3.2: two Host lines, or a Host that is not host[:port], get 400: the gateway and a
// backend must never route one request by two different hosts.

t.test('two Host lines are refused, whichever comes first', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  for (const headers of [['Host: a.test', 'Host: b.test'], ['Host: a.test', 'host: a.test'], ['HOST: a.test', 'Accept: */*', 'hOsT: b.test']]) {
    const answer = await rawRequest(port, request('GET /x HTTP/1.1', headers))
    tt.same(answer.statuses, [400], answer.text)
    tt.match(JSON.parse(lastBody(answer.text)), { code: 'GH_BAD_REQUEST', message: /more than one Host/ })
    tt.ok(answer.closed)
  }
  tt.same(backend.lines, [])
})

t.test('a Host value that is not host[:port] is refused and never forwarded', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  for (const host of ['a b.test', 'a.test/x', 'user@a.test', 'a.test:80x', 'a.test:123456', 'a..test', '.a.test', 'a.test:', '[::1', '[zz]', 'a\\b', 'a%41.test', '']) {
    const answer = await rawRequest(port, request('GET /x HTTP/1.1', [`Host: ${host}`]))
    tt.same(answer.statuses, [400], `Host: ${host} → ${answer.text}`)
  }
  tt.same(backend.lines, [], 'nothing reached the backend')
})

t.test('valid Host values pass and reach x-forwarded-host unchanged', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  for (const host of ['a.test', 'A-b_c.test:8080', '127.0.0.1:1', '[::1]:65535', '[2001:db8::1]', 'localhost', 'a.test.']) {
    const answer = await rawRequest(port, request('GET /x HTTP/1.1', [`Host: ${host}`]))
    tt.same(answer.statuses, [200], `Host: ${host} → ${answer.text}`)
    tt.match(backend.heads.at(-1), new RegExp(`\\r\\nx-forwarded-host: ${host.replace(/[.[\]]/g, '\\$&')}\\r\\n`, 'i'))
  }
})
