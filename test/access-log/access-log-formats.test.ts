import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, existsSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import { once } from 'node:events'
import { startBackend, startGateway, startLoggedGateway, call, type TestBackend } from '../helper'
import { waitFor } from '../wait'
import { freePort } from '../proxy-protocol/support'
import { startH2Gateway, h2Request } from '../hostile/h2'
import type { GatehouseConfig } from '../../lib/config'

type Test = { teardown (fn: () => unknown): void }

function logFile (): string {
  return join(mkdtempSync(join(tmpdir(), 'gh-access-')), 'access.log')
}

function linesOf (file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(l => l !== '') : []
}

async function waitLines (file: string, n: number): Promise<string[]> {
  await waitFor(() => linesOf(file).length >= n, { what: `${n} access lines in ${file}` })
  return linesOf(file)
}

function config (b: TestBackend, accessLog: GatehouseConfig['accessLog'], extra: Partial<GatehouseConfig> = {}): GatehouseConfig {
  return {
    upstreams: { api: { servers: [{ url: b.url, id: 'api-1' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    accessLog,
    ...extra
  }
}

/** One request written byte for byte on a fresh connection; resolves once the answer has ended (connection: close). */
async function rawRequest (port: number, head: string): Promise<string> {
  const s = connect(port, '127.0.0.1')
  await once(s, 'connect')
  // latin1: one byte per character, so a byte past 0x7f goes out as itself.
  s.write(head, 'latin1')
  let out = ''
  s.on('data', (c: Buffer) => { out += c.toString('latin1') })
  await once(s, 'close')
  return out
}

const hello = (b: TestBackend): void => b.handle((req, res) => {
  req.resume()
  res.setHeader('x-backend', 'b')
  // A length, so nginx does not re-chunk the answer (it counts chunked framing in $body_bytes_sent).
  res.setHeader('content-length', '5')
  res.end('hello')
})

// The combined format, as nginx and Apache write it.
const COMBINED_LINE = /^(\S+) - (\S+) \[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/

t.test('the combined format, field by field, escaped as nginx escapes', async t => {
  const b = await startBackend(t, 'b')
  hello(b)
  const file = logFile()
  const gw = await startGateway(t, config(b, { format: 'combined', destination: file }))
  const res = await call(`${gw.url}/x/y?a=1&b=2`, { headers: { referer: 'http://ref.example/page', 'user-agent': 'tester "quoted" \\ back', authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` } })
  t.equal(res.status, 200)
  await call(`${gw.url}/none`, { method: 'HEAD' })
  const [line, head] = await waitLines(file, 2)
  const m = COMBINED_LINE.exec(line)
  t.ok(m, `the line has the combined format: ${line}`)
  if (m === null) return
  t.equal(m[1], '127.0.0.1', '$remote_addr')
  t.equal(m[2], 'alice', '$remote_user: the Basic user name')
  const now = new Date()
  t.match(m[3], `/${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][now.getMonth()]}/${now.getFullYear()}:`, '$time_local')
  t.equal(m[4], 'GET /x/y?a=1&b=2 HTTP/1.1', '$request')
  t.equal(m[5], '200')
  t.equal(m[6], '5', '$body_bytes_sent: the body, not the headers')
  t.equal(m[7], 'http://ref.example/page')
  t.equal(m[8], 'tester \\x22quoted\\x22 \\x5C back', 'quotes and backslashes as \\xHH, so the field stays between its quotes')
  t.match(head, / - - \[.*\] "HEAD \/none HTTP\/1\.1" 200 0 "-" "-"$/, 'no user, no referer, no agent: "-"; a HEAD answer sent no body')
})

/** nginx as a reverse proxy to `backend`, logging the combined format to a file. */
async function startNginxProxy (t: Test, backend: number): Promise<{ port: number, log: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-nginx-'))
  const port = await freePort()
  const log = join(dir, 'access.log')
  writeFileSync(join(dir, 'nginx.conf'), [
    'worker_processes 1;',
    'pid nginx.pid;',
    `error_log ${join(dir, 'error.log')};`,
    'events { worker_connections 64; }',
    'http {',
    '  client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;',
    `  access_log ${log} combined;`,
    `  server { listen 127.0.0.1:${port}; location / { proxy_pass http://127.0.0.1:${backend}; } }`,
    '}',
    ''
  ].join('\n'))
  const child = spawn('/usr/sbin/nginx', ['-p', dir, '-c', 'nginx.conf', '-g', 'daemon off;'], { stdio: 'ignore' })
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  })
  await waitFor(() => existsSync(join(dir, 'nginx.pid')) || child.exitCode !== null, { what: 'nginx to start' })
  if (child.exitCode !== null) throw new Error(`nginx exited: ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`)
  return { port, log }
}

t.test('the same request gives the same combined line as nginx writes, but for the time', { skip: existsSync('/usr/sbin/nginx') ? false : 'no nginx here' }, async t => {
  const b = await startBackend(t, 'b')
  hello(b)
  const file = logFile()
  const gw = await startGateway(t, config(b, { format: 'combined', destination: file }))
  const nginx = await startNginxProxy(t, b.port)
  const head = [
    'GET /a/b%20c?q=1&r=%22x%22 HTTP/1.1',
    'Host: example.test',
    'Referer: http://ref.example/?from="here"',
    'User-Agent: Mozilla/5.0 (X11; "quoted" \\ path) caf\xe9',
    `Authorization: Basic ${Buffer.from('bob:pw').toString('base64')}`,
    'Connection: close',
    '', ''
  ].join('\r\n')
  t.match(await rawRequest(gw.port, head), /^HTTP\/1\.1 200 /)
  t.match(await rawRequest(nginx.port, head), /^HTTP\/1\.1 200 /)
  const [ours] = await waitLines(file, 1)
  const [theirs] = await waitLines(nginx.log, 1)
  const untimed = (line: string) => line.replace(/\[[^\]]+\]/, '[TIME]')
  t.equal(untimed(ours), untimed(theirs), 'byte for byte')
  t.match(ours, 'caf\\xE9', 'a byte past 0x7e escaped as nginx does')
})

t.test('a template of named fields, compiled once', async t => {
  const b = await startBackend(t, 'b')
  hello(b)
  const file = logFile()
  const gw = await startGateway(t, config(b, {
    format: '$remote_addr $status $upstream $server $response_time_ms $request_id|$route|$request_method $uri $args|$host|$http_x_custom|$sent_http_x_backend|$outcome|${status}x|$grpc_status|$upstream_addr|$server_protocol'
  , destination: file }))
  await call(`${gw.url}/p/q?z=9`, { headers: { 'x-request-id': 'rid-1', 'x-custom': 'c v', host: 'Example.TEST:8080' } })
  const [line] = await waitLines(file, 1)
  const [head, route, request, host, custom, sent, outcome, braced, grpc, addr, protocol] = line.split('|')
  t.match(head, /^127\.0\.0\.1 200 api api-1 \d+(\.\d+)? rid-1$/)
  t.equal(route, '0', 'an unnamed route by its index')
  t.equal(request, 'GET /p/q z=9')
  t.equal(host, 'example.test', '$host: lower-cased, without the port')
  t.equal(custom, 'c v')
  t.equal(sent, 'b', 'a header of the answer')
  t.equal(outcome, 'proxied')
  t.equal(braced, '200x', '${name} ends a name where text follows')
  t.equal(grpc, '-', 'no gRPC status on a plain request')
  t.equal(addr, `127.0.0.1:${b.port}`)
  t.equal(protocol, 'HTTP/1.1')
})

t.test('redaction: the query string and listed headers', async t => {
  const b = await startBackend(t, 'b')
  hello(b)
  const file = logFile()
  const gw = await startGateway(t, config(b, { format: '"$request" $request_uri $args $http_x_api_key $http_authorization $http_x_other', destination: file, redact: { query: true, headers: ['X-Api-Key', 'authorization'] } }))
  await call(`${gw.url}/s?token=abc123`, { headers: { 'x-api-key': 'k-secret', authorization: 'Bearer t-secret', 'x-other': 'shown' } })
  await call(`${gw.url}/plain`)
  const [line, plain] = await waitLines(file, 2)
  t.equal(line, '"GET /s?[redacted] HTTP/1.1" /s?[redacted] [redacted] [redacted] [redacted] shown')
  t.notOk(/abc123|secret/.test(line), 'no secret in the line')
  t.equal(plain, '"GET /plain HTTP/1.1" /plain - - - -', 'nothing to redact: "-" as for any missing value')

  const logged = await startLoggedGateway(t, config(b, { fields: ['status', 'url', 'query', 'http_x_api_key', 'http_x_other'], redact: { query: true, headers: ['x-api-key'] } }))
  await call(`${logged.url}/j?token=abc123`, { headers: { 'x-api-key': 'k-secret', 'x-other': 'shown' } })
  const json = logged.logs.find(l => l.msg === 'proxied')
  t.same(json && { status: json.status, url: json.url, query: json.query, key: json.http_x_api_key, other: json.http_x_other, upstream: json.upstream }, { status: 200, url: '/j?[redacted]', query: '[redacted]', key: '[redacted]', other: 'shown', upstream: undefined }, 'chosen JSON fields, redacted the same way, and only those')
})

t.test('errorsOnly and sampleRatio', async t => {
  const b = await startBackend(t, 'b')
  b.handle((req, res) => {
    req.resume()
    res.statusCode = req.url === '/bad' ? 404 : req.url === '/fail' ? 500 : 200
    res.end()
  })
  const run = async (accessLog: GatehouseConfig['accessLog']): Promise<string[]> => {
    const file = logFile()
    const gw = await startGateway(t, config(b, { format: '$status $uri', destination: file, ...accessLog }))
    for (const path of ['/ok', '/bad', '/ok', '/fail', '/ok']) await call(`${gw.url}${path}`)
    await gw.app.close()
    return linesOf(file)
  }
  t.same(await run({ errorsOnly: true }), ['404 /bad', '500 /fail'], 'errorsOnly: 4xx and 5xx only')
  t.same(await run({ sampleRatio: 0 }), ['404 /bad', '500 /fail'], 'sampleRatio 0: no successful request, every error')
  t.same(await run({ sampleRatio: 1 }), ['200 /ok', '404 /bad', '200 /ok', '500 /fail', '200 /ok'], 'sampleRatio 1: every request')
  const half = await run({ sampleRatio: 0.5 })
  t.ok(half.includes('404 /bad') && half.includes('500 /fail'), 'errors are never sampled out')
})

t.test('the file destination: lines flushed on close, reopened on SIGUSR1 after a rotation', async t => {
  const b = await startBackend(t, 'b')
  hello(b)
  const file = logFile()
  const gw = await startGateway(t, config(b, { format: '$uri', destination: file }, { handleSignals: true }))
  for (let i = 0; i < 50; i++) await call(`${gw.url}/n${i}`)
  await waitLines(file, 50)
  renameSync(file, `${file}.1`)
  await call(`${gw.url}/after-rename`)
  await waitFor(() => linesOf(`${file}.1`).length === 51, { what: 'the line in the moved file, still open' })
  process.kill(process.pid, 'SIGUSR1')
  await waitFor(async () => {
    await call(`${gw.url}/reopened`)
    return linesOf(file).length > 0
  }, { what: 'a new file of the same name' })
  t.equal(linesOf(file)[0], '/reopened')
  for (let i = 0; i < 20; i++) await call(`${gw.url}/last${i}`)
  await gw.app.close()
  t.equal(linesOf(file).filter(l => l.startsWith('/last')).length, 20, 'every line written by the time close resolves')
})

t.test('a config with an unknown field or a json file destination fails at start naming the field', async t => {
  const b = await startBackend(t, 'b')
  await t.rejects(startGateway(t, config(b, { format: '$remote_addr $nope' })), /accessLog\.format: unknown field \$nope/)
  await t.rejects(startGateway(t, config(b, { format: 'jsno' })), /accessLog\.format: "json", "combined", or a template/)
  await t.rejects(startGateway(t, config(b, { fields: ['status', 'bogus'] })), /accessLog\.fields\[1\]: unknown field "bogus"/)
  await t.rejects(startGateway(t, config(b, { destination: '/tmp/x.log' })), /accessLog\.destination: the json line goes through the Fastify logger/)
  await t.rejects(startGateway(t, config(b, { sampleRatio: 2 })), /accessLog\.sampleRatio/)
})

t.test('$body_bytes_sent counts a streamed answer, and HTTP/2 answers once', async t => {
  const b = await startBackend(t, 'b')
  b.handle((req, res) => {
    req.resume()
    // No length: chunked, written in three pieces.
    res.write('abc')
    res.write(Buffer.from('defg'))
    setImmediate(() => res.end('hi'))
  })
  const file = logFile()
  const gw = await startGateway(t, config(b, { format: '$request $status $body_bytes_sent', destination: file }))
  const res = await call(`${gw.url}/stream`)
  t.equal(res.body, 'abcdefghi')
  const [line] = await waitLines(file, 1)
  t.equal(line, 'GET /stream HTTP/1.1 200 9', 'the body bytes, without the chunked framing')

  const h2file = logFile()
  const h2 = await startH2Gateway(t, config(b, { format: '$request $status $body_bytes_sent', destination: h2file }))
  const answer = await h2Request(h2.port, { ':method': 'GET', ':path': '/over-h2' })
  t.equal(answer.body, 'abcdefghi')
  hello(b)
  await h2Request(h2.port, { ':method': 'GET', ':path': '/fixed' })
  t.same(await waitLines(h2file, 2), ['GET /over-h2 HTTP/2.0 200 9', 'GET /fixed HTTP/2.0 200 5'], 'HTTP/2 as nginx names it; each byte counted once')
})

t.test('accessLog is fixed at start: a reload that changes it keeps the format in force and says so', async t => {
  const b = await startBackend(t, 'b')
  hello(b)
  const file = logFile()
  const gw = await startLoggedGateway(t, config(b, { format: 'first $uri', destination: file }))
  gw.app.gatehouse.reload(config(b, { format: 'second $uri', destination: file }))
  t.equal(gw.count(/accessLog changed: it is fixed at start/), 1, 'a warning')
  t.equal(gw.app.gatehouse.config.accessLog.format, 'first $uri', 'the config in force (and GET /config) keeps the format the routes use')
  await call(`${gw.url}/x`)
  t.same(await waitLines(file, 1), ['first /x'])
})
