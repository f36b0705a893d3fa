import t, { type Test } from 'tap'
import { join } from 'node:path'
import { ROOT } from '../readme'
import { writeConfig } from '../standalone/process'
import { launch } from '../command/launch'
import { startGateway, type TestGateway } from '../helper'
import type { GatehouseConfig } from '../../lib/config'
import { rawRequest, startRecordingBackend, type RecordingBackend } from './raw'
import { h2Request, startH2Gateway } from './h2'
import { dataFrame, FRAME, headersFrame, rawH2, rstFrame } from './h2-frames'
import { waitFor } from '../wait'

// No input may end the process: every hostile input below goes to the same two gateways (one
// HTTP/1.1, one HTTP/2, both in this one process), and each must be refused (4xx, or over
// HTTP/2 a reset stream) while the gateways keep serving. A stream 'error' with no listener
// anywhere in the request path would end this process, and the file with it.

const BIG = 'x'.repeat(64)

function configFor (url: string): GatehouseConfig {
  return {
    // Passive ejection at its defaults: a client's abort is never charged to the server, so the
    // one server stays in through every hostile input below (else the later checks would be 503s).
    upstreams: { app: { servers: [{ url }], passive: { maxFails: 1, maxEjectionPercent: 100 } } },
    routes: [
      { match: { path: '/small/*' }, upstream: 'app', filters: { maxBodySize: 16 } },
      { match: { path: '/*' }, upstream: 'app' }
    ],
    // Streamed from the first byte, so that the streamed path (body view, backend abort) is hit too.
    retryBodyLimit: 0,
    limits: { requestBuffer: 0 }
  } as GatehouseConfig
}

function chunked (line: string, body: string): string {
  return `${line}\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
}

let h1: TestGateway
let h2port: number
let backend: RecordingBackend

t.before(async () => {
  backend = await startRecordingBackend(t)
  h1 = await startGateway(t, configFor(backend.url))
  h2port = (await startH2Gateway(t, configFor(backend.url))).port
})

async function stillServes (tt: Test): Promise<void> {
  tt.same((await rawRequest(h1.port, 'GET /ok HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n')).statuses, [200], 'HTTP/1.1 still served')
  tt.equal((await h2Request(h2port, { ':path': '/ok' })).status, 200, 'HTTP/2 still served')
}

t.test('HTTP/1.1: bodies past maxBodySize on any method, and uploads cut off', async tt => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const answer = await rawRequest(h1.port, chunked(`${method} /small/x HTTP/1.1`, BIG))
    tt.same(answer.statuses, [413], `${method} with a chunked body past the limit → ${answer.text}`)
  }
  const declared = await rawRequest(h1.port, `POST /small/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 64\r\n\r\n${BIG}`)
  tt.same(declared.statuses, [413])
  // Uploads the client abandons midway, held or streamed, chunked or with a length.
  for (const head of ['Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', 'Content-Length: 100\r\n\r\nhello']) {
    for (const path of ['/small/x', '/x']) {
      await rawRequest(h1.port, `POST ${path} HTTP/1.1\r\nHost: gw.test\r\n${head}`, { deadline: 100 })
    }
  }
  // A chunked body that breaks its framing halfway through.
  const broken = await rawRequest(h1.port, 'POST /x HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n')
  // Answered at once (not left to the receive timeout) as the client's error, never a success.
  tt.same(broken.statuses, [400], broken.text)
  tt.notOk(backend.lines.some(l => l.startsWith('POST /x ')), 'no backend received a cut-off upload as complete')
  await stillServes(tt)
})

t.test('HTTP/2: bodies past maxBodySize, with and without content-type or content-length', async tt => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']) {
    for (const headers of [{}, { 'content-type': 'text/plain' }, { 'content-length': String(BIG.length) }]) {
      const answer = await h2Request(h2port, { ':method': method, ':path': '/small/x', ...headers }, BIG)
      tt.equal(answer.status, 413, `${method} ${JSON.stringify(headers)} → ${answer.status} ${answer.body}`)
    }
  }
  await stillServes(tt)
})

t.test('HTTP/2: uploads reset midway, and DATA that disagrees with content-length', async tt => {
  const c = await rawH2(h2port)
  tt.teardown(() => c.close())
  const head = (stream: number, path: string, extra: Array<[string, string]> = []) =>
    headersFrame(stream, [[':method', 'POST'], [':scheme', 'http'], [':authority', 'gw.test'], [':path', path], ...extra], false)
  let id = 1
  const sent: number[] = []
  for (const path of ['/small/x', '/x']) {
    // Reset after some DATA, without END_STREAM; then too little, then too much for the length.
    c.send(head(id, path), dataFrame(id, 'hello', false))
    c.send(rstFrame(id))
    sent.push(id)
    id += 2
    c.send(head(id, path, [['content-length', '10']]), dataFrame(id, 'hello', true))
    sent.push(id)
    id += 2
    c.send(head(id, path, [['content-length', '2']]), dataFrame(id, 'hello', true))
    sent.push(id)
    id += 2
  }
  // Every stream the server did not see reset by us ends in a reset or a 4xx answer.
  const ours = new Set(sent.filter((_, i) => i % 3 !== 0))
  await waitFor(() => [...ours].every(s => c.received.some(f => f.stream === s && (f.type === FRAME.RST_STREAM || f.type === FRAME.HEADERS))), { what: 'an answer or a reset on every stream' })
  for (const s of ours) {
    const headers = c.received.find(f => f.stream === s && f.type === FRAME.HEADERS)
    // A HEADERS frame would be an answer; its first byte is the HPACK index of :status (8 = 200).
    tt.not(headers?.payload[0], 0x88, `stream ${s} was not answered 200`)
  }
  tt.notOk(backend.lines.some(l => l.startsWith('POST ')), 'no backend received any of them as a complete request')
  await stillServes(tt)
})

t.test('HTTP/2: hostile paths and OPTIONS *, on one session', async tt => {
  for (const [method, path] of [['GET', '/a\\..\\b'], ['GET', '/%00'], ['GET', '/a#b'], ['GET', '/a/../b'], ['GET', '/%zz'], ['OPTIONS', '*'], ['GET', '*'], ['GET', 'x'], ['GET', 'http://a/b']]) {
    const answer = await h2Request(h2port, { ':method': method, ':path': path })
    if (method === 'OPTIONS') tt.equal(answer.status, 200)
    else tt.ok(answer.rstCode !== undefined || (answer.status >= 400 && answer.status < 500), `${method} ${path} → ${answer.status} ${answer.rstCode ?? ''}`)
  }
  await stillServes(tt)
})

t.test('the gatehouse command survives a GET with a chunked body past maxBodySize', async tt => {
  const file = writeConfig(configFor(backend.url))
  const gw = launch(tt, process.execPath, [join(ROOT, 'dist', 'bin', 'gatehouse.js'), '--port', '0', '--host', '127.0.0.1', file])
  const { port } = await gw.listening()
  for (const method of ['GET', 'HEAD', 'POST']) {
    const answer = await rawRequest(port, chunked(`${method} /small/x HTTP/1.1`, BIG))
    tt.same(answer.statuses, [413], answer.text)
  }
  tt.same((await rawRequest(port, 'GET /ok HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n')).statuses, [200], 'still serving')
  tt.equal(gw.child.exitCode, null, 'the process has not exited')
  gw.child.kill('SIGTERM')
  await gw.exited
})
