import t from 'tap'
import { count, spread, startBackend, startLoggedGateway, type TestBackend } from '../helper'
import { waitFor } from '../wait'

/** Two backends whose /health answers 503 while `down` holds for it. */
async function backends (t: Parameters<typeof startBackend>[0]) {
  const down = new Set<string>()
  const list: TestBackend[] = []
  for (const name of ['a', 'b']) {
    const b = await startBackend(t, name)
    b.handle((req, res) => {
      if (req.url === '/health') {
        res.statusCode = down.has(name) ? 503 : 200
        res.end()
        return
      }
      res.setHeader('x-backend', name)
      res.end(name)
    })
    list.push(b)
  }
  return { list, down }
}

/** Takes b out through its health checks and brings it back; returns once it is healthy again. */
async function failAndRecover (gw: Awaited<ReturnType<typeof startLoggedGateway>>, down: Set<string>): Promise<void> {
  const changes = () => gw.logs.filter(l => l.msg === 'health state changed' && l.server === 'b').map(l => l.to)
  down.add('b')
  await waitFor(() => changes().includes('unhealthy'), { what: 'b unhealthy' })
  down.delete('b')
  await waitFor(() => changes().at(-1) === 'healthy', { what: 'b healthy again' })
}

function config (servers: TestBackend[], slowStart?: string) {
  return {
    upstreams: {
      u: {
        servers: servers.map(s => ({ url: s.url, id: s.name })),
        healthCheck: { path: '/health', interval: 20, healthyThreshold: 1, unhealthyThreshold: 1 },
        ...(slowStart !== undefined && { slowStart })
      }
    },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  }
}

t.test('a server back from failed health checks takes a small share at first with slowStart, its full share without', async t => {
  const { list, down } = await backends(t)
  const slow = await startLoggedGateway(t, config(list, '2s'))
  await failAndRecover(slow, down)
  const warming = count(await spread(`${slow.url}/x`, 40))
  // Round robin with equal weights gives each 20 of 40; b ramps from 10% of its weight, so
  // however long these 40 requests take within its 2 s, its share stays below a's.
  t.ok((warming.b ?? 0) >= 1, `b takes some requests already (${warming.b ?? 0})`)
  t.ok((warming.b ?? 0) < (warming.a ?? 0), `but fewer than a (${warming.b ?? 0} of 40)`)

  const plain = await startLoggedGateway(t, config(list))
  await failAndRecover(plain, down)
  const at = count(await spread(`${plain.url}/x`, 40))
  t.same(at, { a: 20, b: 20 }, 'without slowStart: an even split at once')
})
