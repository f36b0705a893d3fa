import t from 'tap'
import { lastBody, rawRequest } from './raw'
import { gatewayWithRecorder } from './setup'

// RFC 9112 §6.1: a transfer coding other than chunked gets 501, and the connection closes: a
// body whose framing the gateway and a backend could read differently is request smuggling.

const post = (te: string[]) => `POST /x HTTP/1.1\r\nHost: a.test\r\n${te.map(v => `Transfer-Encoding: ${v}\r\n`).join('')}\r\n5\r\nhello\r\n0\r\n\r\n`

for (const te of [['gzip, chunked'], ['gzip', 'chunked'], ['deflate,chunked'], ['identity, chunked'], ['x-custom, chunked']]) {
  t.test(`Transfer-Encoding: ${te.join(' + ')} → 501`, async tt => {
    const { port, backend } = await gatewayWithRecorder(tt)
    const answer = await rawRequest(port, post(te))
    tt.same(answer.statuses, [501], answer.text)
    tt.match(JSON.parse(lastBody(answer.text)), { statusCode: 501, code: 'GH_NOT_IMPLEMENTED' })
    tt.ok(answer.closed, 'connection closed')
    tt.same(backend.lines, [])
  })
}

// RFC 9112 §6.3: in a request, chunked must be the final coding, else 400 (MUST): the body's length is unknown.
for (const te of [['identity'], ['gzip'], ['chunked, gzip'], ['chunked', 'chunked']]) {
  t.test(`Transfer-Encoding: ${te.join(' + ')} → 400 (chunked is not final, or twice)`, async tt => {
    const { port, backend } = await gatewayWithRecorder(tt)
    const answer = await rawRequest(port, post(te))
    tt.same(answer.statuses, [400], answer.text)
    tt.match(JSON.parse(lastBody(answer.text)), { statusCode: 400, code: 'GH_BAD_REQUEST' })
    tt.ok(answer.closed, 'connection closed')
    tt.same(backend.lines, [])
  })
}

t.test('chunked alone still works, any case', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  const answer = await rawRequest(port, post(['Chunked']).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'))
  tt.same(answer.statuses, [200], answer.text)
  tt.same(backend.lines, ['POST /x HTTP/1.1'])
})

t.test('Content-Length with Transfer-Encoding is still refused (smuggling)', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt)
  for (const headers of ['Content-Length: 3\r\nTransfer-Encoding: chunked', 'Transfer-Encoding: chunked\r\nContent-Length: 3']) {
    const answer = await rawRequest(port, `POST /x HTTP/1.1\r\nHost: a.test\r\n${headers}\r\n\r\n0\r\n\r\n`)
    tt.same(answer.statuses, [400], answer.text)
    tt.ok(answer.closed)
  }
  tt.same(backend.lines, [])
})
