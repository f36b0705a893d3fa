import t from 'tap'
import { startBackend, startGateway } from '../helper'
import { statuses } from '../hostile/raw'
import { waitFor } from '../wait'
import { rawClient } from './support'

// An answer given before Node's parser marked the request complete (a cache hit, a redirect:
// both answer synchronously) used to close its keep-alive connection, as if a body were
// still to come. Each request here is sent only after the previous answer is read whole, on
// one socket, so a closed connection shows.

async function sequential (port: number, requests: string[]): Promise<{ heads: string[], closed: boolean }> {
  const client = await rawClient(port)
  let closed = false
  void client.closed.then(() => { closed = true })
  for (let i = 0; i < requests.length && !closed; i++) {
    client.socket.write(requests[i])
    await waitFor(() => closed || statuses(client.received()).length === i + 1, { what: `answer ${i + 1}` })
  }
  client.socket.destroy()
  const heads = client.received().split('HTTP/1.1 ').slice(1).map(h => h.slice(0, h.indexOf('\r\n\r\n')).toLowerCase())
  return { heads, closed }
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: example.test\r\n\r\n`

t.test('cache hits and redirects keep the connection open; a refused upload still closes it', async t => {
  const b = await startBackend(t, 'b')
  b.handle((req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.end('hello')
  })
  const gw = await startGateway(t, {
    cache: {},
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/old' }, redirect: { to: '/new' } },
      { match: { path: '/small/*' }, upstream: 'u', filters: { maxBodySize: 4 } },
      { match: { path: '/*' }, upstream: 'u' }
    ]
  })

  const { heads, closed } = await sequential(gw.port, [get('/a'), get('/a'), get('/a'), get('/old'), get('/old'), get('/a')])
  t.equal(heads.length, 6, 'all six answered on one connection')
  t.notOk(closed, 'the gateway left the connection open')
  t.same(heads.map(h => /\r\nx-cache: (\w+)/.exec(h)?.[1] ?? '-'), ['miss', 'hit', 'hit', '-', '-', 'hit'])
  t.ok(heads.every(h => !h.includes('connection: close')), 'no answer asked to close')
  t.equal(b.hits.length, 1, 'the hits did not reach the backend')

  // The control: a body the gateway will not read on to its end still ends the connection.
  const upload = `POST /small/x HTTP/1.1\r\nHost: example.test\r\nContent-Length: 100\r\n\r\n${'x'.repeat(10)}`
  const refused = await sequential(gw.port, [upload, get('/a')])
  t.match(refused.heads[0], /^413 /)
  t.match(refused.heads[0], /connection: close/)
  t.equal(refused.heads.length, 1, 'nothing answered after it')
})
