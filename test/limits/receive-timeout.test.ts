import t from 'tap'
import { startBackend, startGateway, answerBodySize } from '../helper'
import { rawClient, track, within, type BackendRequestLog } from './support'
import { waitFor } from '../wait'

function bodyOf (response: string): string {
  return response.slice(response.indexOf('\r\n\r\n') + 4)
}

t.test('an upload that stalls while held gets 408 GH_RECEIVE_TIMEOUT and its connection closed; no backend sees it', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    limits: { receiveTimeout: '300ms' },
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const client = await rawClient(gw.port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nonly ten b')
  const response = await within('the stalled upload is answered and closed', 5_000, client.closed)
  t.match(response, /^HTTP\/1\.1 408 /)
  t.match(response, /\r\nconnection: close\r\n/i)
  t.match(JSON.parse(bodyOf(response)), { statusCode: 408, code: 'GH_RECEIVE_TIMEOUT' })
  t.equal(b.hits.length, 0, 'the backend never saw the request')
})

t.test('an upload that stalls while streaming to the backend aborts the backend request and gets 408', async t => {
  const b = await startBackend(t, 'b')
  const logs: BackendRequestLog[] = []
  b.handle((req, res) => {
    logs.push(track(req, res))
    answerBodySize(req, res)
  })
  const gw = await startGateway(t, {
    // Nothing held or buffered: the body streams to the backend from its first byte.
    limits: { receiveTimeout: '300ms', requestBuffer: 0 },
    retryBodyLimit: 0,
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const client = await rawClient(gw.port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(5000))
  await waitFor(() => logs.length === 1, { what: 'the backend receives the start of the upload' })
  const response = await within('the stalled upload is answered and closed', 5_000, client.closed)
  t.match(response, /^HTTP\/1\.1 408 /)
  t.match(JSON.parse(bodyOf(response)), { statusCode: 408, code: 'GH_RECEIVE_TIMEOUT' })
  await waitFor(() => logs[0].aborted, { what: 'the backend request is aborted' })
  t.notOk(logs[0].finished, 'the backend never answered the partial upload')
})

t.test('a slow streamed upload that keeps arriving is not cut: the timer restarts with every chunk', async t => {
  const b = await startBackend(t, 'b')
  b.handle(answerBodySize)
  const gw = await startGateway(t, {
    // Streamed: a held body has receiveTimeout as a whole-body deadline instead (test/limits/request-buffer.test.ts).
    limits: { receiveTimeout: '300ms', requestBuffer: 0 },
    retryBodyLimit: 0,
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const chunks = 10
  const client = await rawClient(gw.port, `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ${chunks * 10}\r\n\r\n`)
  // Ten chunks 100 ms apart: the whole upload takes three times the receive timeout.
  for (let i = 0; i < chunks; i++) {
    await new Promise(resolve => setTimeout(resolve, 100))
    client.socket.write('0123456789')
  }
  const response = await within('the upload is answered', 5_000, client.closed)
  t.match(response, /^HTTP\/1\.1 200 /)
  t.equal(bodyOf(response), String(chunks * 10))
})
