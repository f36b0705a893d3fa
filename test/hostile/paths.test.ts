import t, { type Test } from 'tap'
import { rawRequest, startRecordingBackend, type RecordingBackend } from './raw'
import { h1, transports, type Transport } from './transports'

// The path a backend receives is exactly the path routed (less stripPrefix), byte for byte,
// with the raw query; `\`, dot segments and bad encodings are refused. Every case runs over
// HTTP/1.1 (raw bytes) and HTTP/2 (`:path` as sent): one front door, one set of rules.

for (const tr of transports) {
  t.test(tr.name, async t => {
    await cases(t, tr)
  })
}

async function cases (t: Test, tr: Transport): Promise<void> {
  async function setup (tt: Test): Promise<{ port: number, backend: RecordingBackend }> {
    const backend = await startRecordingBackend(tt)
    const gw = await tr.start(tt, {
      upstreams: { app: { servers: [{ url: backend.url }] } },
      routes: [
        { match: { path: '/public/*' }, upstream: 'app', rateLimit: false },
        { match: { path: '/private/*' }, upstream: 'app', rateLimit: { max: 1, timeWindow: 60_000 } },
        { match: { path: '/api/*' }, upstream: 'app', stripPrefix: '/api' },
        { match: { path: '/s/*' }, upstream: 'app', stripPrefix: '/s' }
      ],
      rateLimit: { key: 'ip', max: 1000, timeWindow: 60_000 }
    })
    return { port: gw.port, backend }
  }

  async function refused (tt: Test, port: number, backend: RecordingBackend, line: string, headers?: Record<string, string>, body?: string): Promise<void> {
    const [method, target] = line.split(' ')
    const answer = await tr.send(port, method, target, headers, body)
    tt.equal(answer.status, 400, `${line} → ${answer.text}`)
    tt.equal(answer.code, 'GH_BAD_REQUEST')
    tt.ok(answer.closed, 'connection closed after the 400')
    tt.same(backend.lines, [], 'nothing reached the backend')
  }

  async function forwarded (tt: Test, port: number, backend: RecordingBackend, line: string, expected: string, headers?: Record<string, string>, body?: string): Promise<void> {
    const [method, target] = line.split(' ')
    const answer = await tr.send(port, method, target, headers, body)
    tt.equal(answer.status, 200, answer.text)
    tt.same(backend.lines, [expected])
  }

  t.test('a backslash walk out of a route is refused', async tt => {
    const { port, backend } = await setup(tt)
    await refused(tt, port, backend, 'GET /public/x\\..\\..\\private/secret')
  })

  t.test('a backslash walk with percent-encoded dots is refused', async tt => {
    const { port, backend } = await setup(tt)
    await refused(tt, port, backend, 'GET /public/x\\%2e%2e\\%2e%2e\\private/secret')
  })

  t.test('a backslash walk with a query is refused', async tt => {
    const { port, backend } = await setup(tt)
    await refused(tt, port, backend, 'GET /public/x\\..\\..\\private/secret?a=1&b=%2F')
  })

  t.test('a backslash walk on POST is refused', async tt => {
    const { port, backend } = await setup(tt)
    await refused(tt, port, backend, 'POST /public/x\\..\\..\\private/secret', { 'Content-Type': 'text/plain', 'Content-Length': '5' }, 'hello')
  })

  t.test('a backslash walk through stripPrefix is refused', async tt => {
    const { port, backend } = await setup(tt)
    await refused(tt, port, backend, 'GET /s/x\\..\\..\\private/secret')
  })

  t.test('a rate-limited path is not reached through an unlimited route', async tt => {
    const { port, backend } = await setup(tt)
    await refused(tt, port, backend, 'GET /public/..\\private/secret')
    // The limited route still has its one request left, and then refuses.
    await forwarded(tt, port, backend, 'GET /private/secret HTTP/1.1', 'GET /private/secret HTTP/1.1')
    const again = await tr.send(port, 'GET', '/private/secret')
    tt.equal(again.status, 429)
  })

  t.test('dot segments are refused, raw or percent-encoded', async tt => {
    const { port, backend } = await setup(tt)
    for (const target of ['/public/./x', '/public/../private/x', '/public/%2e%2e/private/x', '/public/.%2E/private/x', '/public/%2e/x', '/public/x/..', '/public/x/..?q']) {
      await refused(tt, port, backend, `GET ${target}`)
    }
  })

  t.test('an encoded NUL, broken percent-encoding and a fragment are refused', async tt => {
    const { port, backend } = await setup(tt)
    for (const target of ['/public/a%00b', '/public/%zz', '/public/%4', '/public/a%', '/public/a#b', '/public/a%g0']) {
      await refused(tt, port, backend, `GET ${target}`)
    }
  })

  t.test('the path and query reach the backend byte for byte', async tt => {
    const { port, backend } = await setup(tt)
    // A WHATWG URL would encode `"`, `{`, `}` and `^`, and resolve the query's "../".
    await forwarded(tt, port, backend,
      'GET /public/a%2Fb/c%3Fd;e=f/"{x}^|?q=%2e%2e/../x\\y&r=%zz HTTP/1.1',
      'GET /public/a%2Fb/c%3Fd;e=f/"{x}^|?q=%2e%2e/../x\\y&r=%zz HTTP/1.1')
  })

  t.test('a POST body and its path reach the backend unchanged', async tt => {
    const { port, backend } = await setup(tt)
    await forwarded(tt, port, backend, 'POST /public/%7Eu/"x"?a HTTP/1.1', 'POST /public/~u/"x"?a HTTP/1.1',
      { 'Content-Type': 'text/plain', 'Content-Length': '5' }, 'hello')
  })

  t.test('percent-encoded unreserved characters are decoded before routing, so stripPrefix applies', async tt => {
    const { port, backend } = await setup(tt)
    await forwarded(tt, port, backend, 'GET /%61pi/x%2Dy%5F%7e?z=%61 HTTP/1.1', 'GET /x-y_~?z=%61 HTTP/1.1')
  })

  t.test('stripPrefix keeps the rest of the path exactly', async tt => {
    const { port, backend } = await setup(tt)
    await forwarded(tt, port, backend, 'GET /s/a%2Fb/"c HTTP/1.1', 'GET /a%2Fb/"c HTTP/1.1')
  })

  t.test('".." beside an encoded slash is refused (a backend that decodes %2F first would climb)', async tt => {
    const { port, backend } = await setup(tt)
    await refused(tt, port, backend, 'GET /s/a%2F..%2Fb')
  })

  t.test('reserved encodings are left encoded: %2F does not make a new segment', async tt => {
    const { port, backend } = await setup(tt)
    // "/api%2Fx" is one segment, not "/api/x": it matches no route.
    const answer = await tr.send(port, 'GET', '/api%2Fx')
    tt.equal(answer.status, 404)
    tt.same(backend.lines, [])
  })
}

async function setupH1 (tt: Test): Promise<{ port: number, backend: RecordingBackend }> {
  const backend = await startRecordingBackend(tt)
  const gw = await h1.start(tt, { upstreams: { app: { servers: [{ url: backend.url }] } }, routes: [{ match: { path: '/public/*' }, upstream: 'app' }] })
  return { port: gw.port, backend }
}

async function refusedH1 (tt: Test, port: number, backend: RecordingBackend, bytes: string): Promise<void> {
  const answer = await rawRequest(port, bytes)
  tt.same(answer.statuses, [400], answer.text)
  tt.ok(answer.closed, 'connection closed after the 400')
  tt.same(backend.lines, [], 'nothing reached the backend')
}

// Upgrades are HTTP/1.1 only: Gatehouse takes no extended CONNECT (RFC 8441) over HTTP/2.
t.test('h1: an upgrade request is screened the same way and forwarded exactly', async tt => {
  const { port, backend } = await setupH1(tt)
  await refusedH1(tt, port, backend, 'GET /public/x\\..\\private/y HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  // The recording backend declines the upgrade with a 200, which is passed back.
  const answer = await rawRequest(port, 'GET /public/"a"?b=\\ HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', { until: text => text.endsWith('HTTP/1.1') })
  tt.same(answer.statuses, [200], answer.text)
  tt.same(backend.lines, ['GET /public/"a"?b=\\ HTTP/1.1'])
})
