import t from 'tap'
import { createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { startGateway, call } from '../helper'

type Tap = Pick<typeof t, 'equal' | 'match' | 'ok'>

const BACKEND_HEADERS = 'Set-Cookie: session=backend\r\nCache-Control: public, max-age=600\r\nETag: "backend-etag"\r\nX-Backend-Only: yes\r\n'

/** A raw TCP backend: after each request head it writes `answer(path)` and, when `cut`, resets the connection. */
async function rawBackend (t: Parameters<typeof startGateway>[0], answer: (path: string) => string, cut = false): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    let head = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      head += d
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      const path = head.slice(0, head.indexOf('\r\n')).split(' ')[1]
      head = head.slice(end + 4)
      socket.write(answer(path), () => { if (cut) socket.resetAndDestroy() })
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function assertNoBackendHeaders (t: Tap, headers: Record<string, unknown>, what: string): void {
  for (const name of ['set-cookie', 'cache-control', 'etag', 'x-backend-only']) {
    t.equal(headers[name], undefined, `${what}: no ${name} from the backend`)
  }
  t.match(String(headers['content-type']), /application\/json/, `${what}: Gatehouse's JSON error`)
  t.ok(typeof headers['x-request-id'] === 'string', `${what}: the request id is kept`)
}

t.test('a status Gatehouse cannot pass on (600, 099) is a 502 with none of the backend\'s headers', async t => {
  const url = await rawBackend(t, path => `HTTP/1.1 ${path === '/low' ? '099' : '600'} Odd\r\n${BACKEND_HEADERS}Content-Length: 2\r\n\r\nhi`)
  const gw = await startGateway(t, {
    upstreams: { u: { retries: 0, servers: [{ url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  for (const path of ['/high', '/low']) {
    const res = await call(`${gw.url}${path}`, { headers: { 'x-request-id': 'rid-1' } })
    t.equal(res.status, 502, `${path}: 502`)
    assertNoBackendHeaders(t, res.headers, path)
    t.equal(res.headers['x-request-id'], 'rid-1')
    t.equal(res.json().code, 'GH_BAD_GATEWAY')
  }
})

t.test('a backend that sends its headers and then breaks before the body: 502, none of its headers', async t => {
  const url = await rawBackend(t, () => `HTTP/1.1 200 OK\r\n${BACKEND_HEADERS}Content-Length: 100000\r\n\r\n`, true)
  const gw = await startGateway(t, {
    upstreams: { u: { retries: 0, servers: [{ url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  const res = await call(`${gw.url}/x`)
  t.equal(res.status, 502)
  assertNoBackendHeaders(t, res.headers, 'broken body')
})
