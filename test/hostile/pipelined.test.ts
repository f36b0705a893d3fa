import t from 'tap'
import { lastBody, rawRequest } from './raw'
import { gatewayWithRecorder } from './setup'

// Valid requests followed in one packet by a malformed one get their
// answers first, in order, then the 400, then the connection closes: a client's good requests
// are not lost to a bad one after them, and nothing after the bad one is read as a request.

t.test('a valid request then a malformed one: both answers, in order', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  const answer = await rawRequest(port, 'GET /first HTTP/1.1\r\nHost: a.test\r\n\r\nGET /bad\x01 HTTP/1.1\r\nHost: a.test\r\n\r\n')
  tt.same(answer.statuses, [200, 400], answer.text)
  tt.match(answer.text, /GET \/first HTTP\/1\.1/, 'the first answer carries its body')
  tt.match(JSON.parse(lastBody(answer.text)), { statusCode: 400, code: 'GH_BAD_REQUEST' })
  tt.ok(answer.closed, 'closed after the 400')
  tt.same(backend.lines, ['GET /first HTTP/1.1'])
})

t.test('two valid requests then garbage: three answers, in order', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  const answer = await rawRequest(port, 'GET /a HTTP/1.1\r\nHost: a.test\r\n\r\nPOST /b HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhiNOT HTTP AT ALL\r\n\r\n')
  tt.same(answer.statuses, [200, 200, 400], answer.text)
  tt.ok(answer.text.indexOf('GET /a') < answer.text.indexOf('POST /b'))
  tt.ok(answer.closed)
  tt.same(backend.lines, ['GET /a HTTP/1.1', 'POST /b HTTP/1.1'])
})

t.test('a malformed request alone gets the JSON 400 at once', async tt => {
  const { port } = await gatewayWithRecorder(tt)
  const answer = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: a.test\r\nBad Header: x\r\n\r\n')
  tt.same(answer.statuses, [400], answer.text)
  tt.match(JSON.parse(lastBody(answer.text)), { statusCode: 400, error: 'Bad Request', code: 'GH_BAD_REQUEST' })
  tt.ok(answer.closed)
})

t.test('a screened request refused after a valid one is answered after it too', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  const answer = await rawRequest(port, 'GET /ok HTTP/1.1\r\nHost: a.test\r\n\r\nGET /x\\..\\y HTTP/1.1\r\nHost: a.test\r\n\r\n')
  tt.same(answer.statuses, [200, 400], answer.text)
  tt.ok(answer.closed)
  tt.same(backend.lines, ['GET /ok HTTP/1.1'])
})
