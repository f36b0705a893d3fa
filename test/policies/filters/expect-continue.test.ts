import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import bcrypt from 'bcryptjs'
import { startBackend } from '../../helper'
import { startFilterGateway } from './support'

/**
 * Sends a request head with `Expect: 100-continue` and no body, then reads until a final
 * status arrives; on a 100 it sends `body` and reads on. Returns every byte read, in order.
 */
async function expecting (port: number, head: string, body: string): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  let text = ''
  let sent = false
  const done = new Promise<void>(resolve => {
    const timer = setTimeout(resolve, 3000)
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1')
      if (!sent && text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        sent = true
        socket.write(body)
      }
      // A final answer's head is in, with its body when it says how long that is.
      const final = text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')
      const end = final.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: *(\d+)/i.exec(final)
      if (end !== -1 && length !== null && final.length >= end + 4 + Number(length[1])) {
        clearTimeout(timer)
        resolve()
      }
    })
    socket.on('close', () => { clearTimeout(timer); resolve() })
  })
  socket.write(head)
  await done
  socket.destroy()
  return text
}

const upload = (path: string, length: number, extra: string[] = []): string =>
  `POST ${path} HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n${extra.map(l => l + '\r\n').join('')}\r\n`

// nginx answers a request it refuses (413, 401, 403, 405) without the 100 Continue that
// would invite the client to send the body it is about to refuse; a request that passes gets
// the 100 once its body is about to be read, then its answer.
t.test('Expect: 100-continue: a refused upload gets its refusal and no 100; one that passes gets 100, then its answer', async t => {
  const b = await startBackend(t, 'b')
  b.handle((req, res) => {
    let n = 0
    req.on('data', (c: Buffer) => { n += c.length })
    req.on('end', () => res.end(`got ${n}`))
  })
  const hash = bcrypt.hashSync('s3cret', 4)
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/small' }, upstream: 'api', filters: { maxBodySize: 1024 } },
      { match: { path: '/keyed' }, upstream: 'api', filters: { requireHeaders: { 'x-api-key': true } } },
      { match: { path: '/users' }, upstream: 'api', filters: { basicAuth: { users: { alice: hash } } } },
      { match: { path: '/denied' }, upstream: 'api', filters: { deny: ['127.0.0.1'] } },
      { match: { path: '/read' }, upstream: 'api', filters: { methods: ['GET'] } },
      { match: { path: '/*' }, upstream: 'api', filters: { maxBodySize: 1024 } }
    ]
  })
  for (const [path, status] of [['/small', 413], ['/keyed', 401], ['/users', 401], ['/denied', 403], ['/read', 405]] as const) {
    const text = await expecting(gw.port, upload(path, path === '/small' ? 10_000 : 10), 'x'.repeat(10))
    t.notMatch(text, /100 Continue/, `${path}: no 100 Continue`)
    t.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), `${path}: ${status} is the first thing sent`)
  }
  t.equal(b.hits.length, 0, 'no refused upload reached the backend')

  const text = await expecting(gw.port, upload('/ok', 10), 'y'.repeat(10))
  t.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, 'a passing upload: 100, then its answer')
  t.match(text, /got 10$/, 'the body reached the backend whole')
  const keyed = await expecting(gw.port, upload('/keyed', 5, ['X-Api-Key: k']), 'z'.repeat(5))
  t.match(keyed, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 [^]*got 5$/, 'the filter passed: 100, then the answer')
})
