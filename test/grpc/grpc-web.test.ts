import t from 'tap'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { startGateway, startLoggedGateway } from '../helper'
import { admin, TOKEN } from '../ops/admin-client'
import { waitFor } from '../wait'
import { startH2Gateway, h2Request } from '../hostile/h2'
import { deadPort } from '../http2-upstream/support'
import { startGrpcBackend, grpc } from './support'

// gRPC-Web by hand, as a browser's grpc-web library sends it: HTTP/1.1, the gRPC framing in
// the body (base64 for -text), the trailers read from the body's last frame (flag 0x80).

function field (n: number, value: Buffer | number): Buffer {
  if (typeof value === 'number') return Buffer.from([(n << 3) | 0, value])
  return Buffer.concat([Buffer.from([(n << 3) | 2, value.length]), value])
}
const note = (text: string): Buffer => field(1, Buffer.from(text))
const ask = (text: string, count: number): Buffer => Buffer.concat([field(1, Buffer.from(text)), field(2, count)])

function frame (message: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(message.length, 1)
  return Buffer.concat([head, message])
}

interface WebAnswer { status: number, headers: IncomingHttpHeaders, messages: string[], trailers: Record<string, string> | null, raw: Buffer }

/** The frames of a gRPC-Web body: messages (Note's text) and the trailer frame. */
function parse (body: Buffer): Pick<WebAnswer, 'messages' | 'trailers'> {
  const messages: string[] = []
  let trailers: Record<string, string> | null = null
  let at = 0
  while (at + 5 <= body.length) {
    const flag = body[at]
    const length = body.readUInt32BE(at + 1)
    const data = body.subarray(at + 5, at + 5 + length)
    at += 5 + length
    if ((flag & 0x80) !== 0) {
      trailers = {}
      for (const line of data.toString('latin1').split('\r\n')) {
        if (line === '') continue
        const colon = line.indexOf(':')
        trailers[line.slice(0, colon)] = line.slice(colon + 1).trim()
      }
    } else {
      // A Note: field 1, its length, the text.
      messages.push(data.subarray(2).toString())
    }
  }
  return { messages, trailers }
}

async function web (port: number, path: string, body: Buffer, type = 'application/grpc-web+proto'): Promise<WebAnswer> {
  const text = type.startsWith('application/grpc-web-text')
  const sent = text ? Buffer.from(body.toString('base64')) : body
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': type, 'x-grpc-web': '1', 'content-length': String(sent.length), accept: type } }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const raw = Buffer.concat(chunks)
        const decoded = text ? Buffer.from(raw.toString('latin1'), 'base64') : raw
        resolve({ status: res.statusCode ?? 0, headers: res.headers, ...parse(decoded), raw })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(sent)
  })
}

async function gateway (t: Parameters<typeof startGateway>[0], url: string, grpcWeb = true): Promise<number> {
  const gw = await startGateway(t, {
    upstreams: { grpc: { servers: [{ url }], protocol: 'h2c', retries: 0, passive: { maxFails: 0 } } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc', grpcWeb }]
  })
  return Number(new URL(gw.url).port)
}

t.test('unary over HTTP/1.1: the answer, then the backend\'s trailers as the last frame of the body', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const port = await gateway(t, backend.url)
  const answer = await web(port, '/gatehouse.test.Echo/Say', frame(note('hello')))
  t.equal(answer.status, 200)
  t.equal(answer.headers['content-type'], 'application/grpc-web+proto')
  t.same(answer.messages, ['b1: hello'])
  t.equal(answer.trailers?.['grpc-status'], '0')
  t.equal(answer.trailers?.['x-backend'], 'b1', 'the backend\'s metadata in the trailer frame')
  t.equal(answer.headers['grpc-status'], undefined, 'the status is in the body, not the headers')
  t.equal(backend.calls.length, 1, 'the backend (grpc-js, which takes only application/grpc) got the call')
})

t.test('server streaming: every message, then the trailers', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const port = await gateway(t, backend.url)
  const answer = await web(port, '/gatehouse.test.Echo/Repeat', frame(ask('n', 20)))
  t.same(answer.messages, Array.from({ length: 20 }, (_, i) => `n ${i}`))
  t.equal(answer.trailers?.['grpc-status'], '0')
})

t.test('grpc-web-text: base64 both ways', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const port = await gateway(t, backend.url)
  for (const type of ['application/grpc-web-text', 'application/grpc-web-text+proto']) {
    const answer = await web(port, '/gatehouse.test.Echo/Repeat', frame(ask('t', 3)), type)
    t.equal(answer.headers['content-type'], type)
    t.match(answer.raw.toString('latin1'), /^[A-Za-z0-9+/]+=*$/, 'the body is base64')
    t.same(answer.messages, ['t 0', 't 1', 't 2'])
    t.equal(answer.trailers?.['grpc-status'], '0')
  }
})

t.test('an error status from the backend: in the trailer frame, the message as sent', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const port = await gateway(t, backend.url)
  const answer = await web(port, '/gatehouse.test.Echo/Fail', frame(note(`${grpc.status.NOT_FOUND} no such thing`)))
  t.equal(answer.status, 200)
  const status = answer.trailers?.['grpc-status'] ?? answer.headers['grpc-status']
  t.equal(status, String(grpc.status.NOT_FOUND))
  // Percent-encoded as the backend sent it (gRPC's own encoding of grpc-message); the client decodes it.
  t.equal(decodeURIComponent(String(answer.trailers?.['grpc-message'] ?? answer.headers['grpc-message'])), 'no such thing')
})

t.test('a gateway error is a gRPC status too: trailers-only, in the headers, the client\'s content type', async t => {
  const down = await deadPort()
  const port = await gateway(t, `http://127.0.0.1:${down}`)
  const answer = await web(port, '/gatehouse.test.Echo/Say', frame(note('x')))
  t.equal(answer.status, 200)
  t.equal(answer.headers['content-type'], 'application/grpc-web+proto')
  t.equal(answer.headers['grpc-status'], String(grpc.status.UNAVAILABLE))
  t.equal(answer.raw.length, 0, 'no JSON body')
})

t.test('a -text body that is not base64: 400-class gRPC error, the server not charged', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const port = await gateway(t, backend.url)
  const bad = await new Promise<{ status: number, headers: IncomingHttpHeaders }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/gatehouse.test.Echo/Say', method: 'POST', headers: { 'content-type': 'application/grpc-web-text' } }, res => { res.resume(); res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers })) })
    req.on('error', reject)
    req.end('!!!!not base64')
  })
  t.equal(bad.status, 200)
  t.equal(bad.headers['grpc-status'], String(grpc.status.INTERNAL), 'a bad request: INTERNAL, as gRPC maps a 400')
  const good = await web(port, '/gatehouse.test.Echo/Say', frame(note('after')), 'application/grpc-web-text')
  t.same(good.messages, ['b1: after'], 'the server still takes calls')
})

t.test('over HTTP/2 too; and off by default: a gRPC-Web call on a route without grpcWeb is not bridged', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/web/*' }, upstream: 'grpc', grpcWeb: true, stripPrefix: '/web' }, { match: { path: '/*' }, upstream: 'grpc' }]
  })
  const on = await h2Request(gw.port, { ':method': 'POST', ':path': '/web/gatehouse.test.Echo/Say', 'content-type': 'application/grpc-web+proto' }, frame(note('h2')))
  t.equal(on.status, 200)
  const parsed = parse(Buffer.from(on.body, 'latin1'))
  t.same(parsed.messages, ['b1: h2'])
  t.equal(parsed.trailers?.['grpc-status'], '0')
  const off = await h2Request(gw.port, { ':method': 'POST', ':path': '/gatehouse.test.Echo/Say', 'content-type': 'application/grpc-web+proto' }, frame(note('h2')))
  t.not(off.headers['content-type'], 'application/grpc-web+proto', 'not bridged')
  t.equal(parse(Buffer.from(off.body, 'latin1')).trailers, null, 'no trailer frame')
})

t.test('a gRPC-Web call\'s status is in the access line and gatehouse_grpc_responses_total: the trailer frame\'s, the trailers-only headers\', the gateway\'s own', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const down = await deadPort()
  const gw = await startLoggedGateway(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: {
      grpc: { servers: [{ url: backend.url }], protocol: 'h2c' },
      gone: { servers: [{ url: `http://127.0.0.1:${down}` }], protocol: 'h2c', retries: 0 }
    },
    routes: [
      { name: 'web', match: { path: '/gatehouse.test.Echo/*' }, upstream: 'grpc', grpcWeb: true },
      { name: 'dead', match: { path: '/dead.Service/*' }, upstream: 'gone', grpcWeb: true }
    ]
  })
  const port = gw.port
  const ok = await web(port, '/gatehouse.test.Echo/Say', frame(note('hi')))
  t.equal(ok.trailers?.['grpc-status'], '0')
  const text = await web(port, '/gatehouse.test.Echo/Repeat', frame(ask('t', 2)), 'application/grpc-web-text')
  t.equal(text.trailers?.['grpc-status'], '0')
  const failed = await web(port, '/gatehouse.test.Echo/Fail', frame(note(`${grpc.status.NOT_FOUND} no such thing`)))
  t.equal(failed.trailers?.['grpc-status'] ?? failed.headers['grpc-status'], String(grpc.status.NOT_FOUND))
  const dead = await web(port, '/dead.Service/Call', frame(note('x')))
  t.equal(dead.headers['grpc-status'], String(grpc.status.UNAVAILABLE))

  await waitFor(() => gw.logs.filter(l => l.msg === 'proxied').length === 4, { what: 'four access lines' })
  t.same(gw.logs.filter(l => l.msg === 'proxied').map(l => [l.upstream, l.status, l.grpcStatus]),
    [['grpc', 200, '0'], ['grpc', 200, '0'], ['grpc', 200, '5'], ['gone', 200, '14']], 'each call\'s status, as its client read it')
  const metrics = (await admin(gw.app.gatehouse.adminUrl as string, 'GET', '/metrics', { token: TOKEN })).body
  const value = (series: string) => metrics.split('\n').find(l => l.startsWith(`${series} `))?.slice(series.length + 1)
  t.equal(value('gatehouse_grpc_responses_total{upstream="grpc",route="web",grpc_status="0"}'), '2')
  t.equal(value('gatehouse_grpc_responses_total{upstream="grpc",route="web",grpc_status="5"}'), '1')
  t.equal(value('gatehouse_grpc_responses_total{upstream="gone",route="dead",grpc_status="14"}'), '1')
})
