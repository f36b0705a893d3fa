import t from 'tap'
import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { readFileSync } from 'node:fs'
import type { TLSSocket } from 'node:tls'
import { makeCerts } from '../tls/certs'
import type { GatehouseConfig } from '../../lib/config'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { startLoggedGateway } from '../helper'
import { waitFor } from '../wait'
import { startDns } from './dns-server'

type Test = { teardown (fn: () => unknown): void }

/** One HTTP server per loopback address, all on one port (the port the server's url names); each answers with its own address. */
async function startBackends (t: Test, addresses: string[]): Promise<{ port: number, hosts: Map<string, string[]> }> {
  const hosts = new Map<string, string[]>()
  let port = 0
  for (const address of addresses) {
    const server: Server = createServer((req, res) => {
      const seen = hosts.get(address) ?? []
      seen.push(String(req.headers.host))
      hosts.set(address, seen)
      res.setHeader('x-address', address)
      res.end(address)
    })
    server.keepAliveTimeout = 10_000
    server.listen(port, address)
    await once(server, 'listening')
    port = (server.address() as AddressInfo).port
    t.teardown(async () => {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    })
  }
  return { port, hosts }
}

t.test('a name whose records go from two addresses to three, then to one, under steady traffic: no request fails', async t => {
  const dns = await startDns(t)
  const { port, hosts } = await startBackends(t, ['127.0.0.2', '127.0.0.3', '127.0.0.4'])
  dns.set('api.test', ['127.0.0.2', '127.0.0.3'], 1)
  const gw = await startLoggedGateway(t, {
    upstreams: { api: { servers: [{ url: `http://api.test:${port}`, resolve: true }], preserveHost: false, resolveInterval: '1s' } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    dns: { servers: [dns.server] },
    admin: { port: 0 }
  })
  const ids = async (): Promise<Array<{ id: string, state: string }>> => {
    const res = await fetch(`${String(gw.app.gatehouse.adminUrl)}/upstreams`)
    const body = await res.json() as { upstreams: Array<{ name: string, servers: Array<{ id: string, state: string }> }> }
    return body.upstreams[0].servers.map(s => ({ id: s.id, state: s.state }))
  }
  t.same((await ids()).map(s => s.id), [`api.test:${port}@127.0.0.2`, `api.test:${port}@127.0.0.3`], 'one server per address, from the start')

  // Steady traffic: four clients in a loop on keep-alive connections, every answer counted.
  const agent = new Agent({ connections: 4, keepAliveTimeout: 10_000 })
  t.teardown(() => agent.close())
  const statuses = new Map<number, number>()
  const served = new Map<string, number>()
  let running = true
  const errors: string[] = []
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const res = await request(`${gw.url}/x`, { dispatcher: agent })
        const body = await res.body.text()
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        served.set(body, (served.get(body) ?? 0) + 1)
      } catch (err) {
        errors.push((err as Error).message)
      }
    }
  }
  const loops = [loop(), loop(), loop(), loop()]
  const since = (): Map<string, number> => new Map(served)
  const gotTraffic = async (address: string, what: string): Promise<void> => {
    const base = since().get(address) ?? 0
    await waitFor(() => (served.get(address) ?? 0) > base + 5, { what, timeout: 6000 })
  }
  try {
    await gotTraffic('127.0.0.2', 'traffic on .2')
    await gotTraffic('127.0.0.3', 'traffic on .3')

    dns.set('api.test', ['127.0.0.2', '127.0.0.3', '127.0.0.4'], 1)
    await gotTraffic('127.0.0.4', 'the new address .4 to take traffic')
    t.same((await ids()).map(s => s.id).sort(), ['2', '3', '4'].map(n => `api.test:${port}@127.0.0.${n}`), 'three servers')

    dns.set('api.test', ['127.0.0.4'], 1)
    await waitFor(async () => (await ids()).length === 1, { what: 'the vanished addresses to be drained and removed', timeout: 6000 })
    t.same(await ids(), [{ id: `api.test:${port}@127.0.0.4`, state: 'ready' }], 'one server left')
    const before = { two: served.get('127.0.0.2') ?? 0, three: served.get('127.0.0.3') ?? 0 }
    await gotTraffic('127.0.0.4', 'traffic on .4 alone')
    t.same({ two: served.get('127.0.0.2') ?? 0, three: served.get('127.0.0.3') ?? 0 }, before, 'nothing more to the removed addresses')
  } finally {
    running = false
    await Promise.all(loops)
  }
  t.same(errors, [], 'no request failed at the client')
  t.same([...statuses.keys()], [200], `every answer a 200 (${[...statuses.values()].join('+')} requests)`)
  t.ok(gw.count(/servers from DNS changed/) >= 2, 'the changes were logged')
  t.equal(gw.count(/servers from DNS removed after draining/), 1, 'the two vanished addresses left together, once drained')
  const hostHeaders = new Set([...hosts.values()].flat())
  t.same([...hostHeaders], [`api.test:${port}`], 'preserveHost false: every backend got the name as its Host, never the address')
})

t.test('a failed lookup keeps the last good addresses, logged once; the next good answer applies', async t => {
  const dns = await startDns(t)
  const { port } = await startBackends(t, ['127.0.0.2', '127.0.0.3'])
  dns.set('api.test', ['127.0.0.2'], 1)
  const gw = await startLoggedGateway(t, {
    upstreams: { api: { servers: [{ url: `http://api.test:${port}` }], resolve: true, resolveInterval: 1000 } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    dns: { servers: [dns.server] }
  })
  const statuses: number[] = []
  const get = async (): Promise<string> => {
    const res = await request(`${gw.url}/y`)
    statuses.push(res.statusCode)
    return await res.body.text()
  }
  t.equal(await get(), '127.0.0.2')
  dns.failing = true
  const asked = dns.queries.get('api.test') ?? 0
  await waitFor(() => (dns.queries.get('api.test') ?? 0) >= asked + 4, { what: 'two failed lookups', timeout: 8000 })
  t.equal(await get(), '127.0.0.2', 'still served by the last good address')
  t.equal(gw.count(/DNS lookup failed/), 1, 'logged once')
  dns.failing = false
  dns.set('api.test', ['127.0.0.3'], 1)
  await waitFor(async () => (await get()) === '127.0.0.3', { what: 'the new answer', timeout: 8000 })
  t.equal(gw.count(/DNS lookup succeeds again/), 1)
  t.ok(statuses.every(s => s === 200), 'every answer a 200')
})

t.test('an https:// server from DNS is verified against the name, and checked under it', async t => {
  const certs = makeCerts(t)
  // The certificate names the host only: verifying against the address would fail.
  const leaf = certs.leaf('api', 'api.test', ['api.test'])
  const hosts: string[] = []
  const server = createHttpsServer({ cert: leaf.pem(), key: readFileSync(leaf.key) }, (req, res) => {
    hosts.push(`${String(req.headers.host)} ${String((req.socket as TLSSocket).servername)}`)
    res.end('secure')
  })
  server.listen(0, '127.0.0.2')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const port = (server.address() as AddressInfo).port
  const dns = await startDns(t)
  dns.set('api.test', ['127.0.0.2'], 1)
  const gw = await startLoggedGateway(t, {
    upstreams: {
      api: {
        servers: [{ url: `https://api.test:${port}`, resolve: true }],
        preserveHost: false,
        tls: { ca: certs.ca },
        healthCheck: { path: '/health', interval: 50, healthyThreshold: 1 }
      }
    },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    dns: { servers: [dns.server] }
  })
  await waitFor(async () => (await request(`${gw.url}/z`)).statusCode === 200, { what: 'the resolved server to pass its https check and serve' })
  t.ok(hosts.every(h => h === `api.test:${port} api.test`), `Host and SNI are the name: ${[...new Set(hosts)].join(', ')}`)
  t.equal(gw.count(/TLS with the server failed/), 0)
})

t.test('an address that leaves the answer is drained: its request in flight finishes, /upstreams shows it draining, then it is gone', async t => {
  const dns = await startDns(t)
  let release: (() => void) | undefined
  const held = new Promise<void>(resolve => { release = resolve })
  const { port } = await startBackends(t, ['127.0.0.2'])
  // A second backend, on .3 and the same port, that holds its first answer until told.
  const slow = createServer((_req, res) => { held.then(() => res.end('127.0.0.3 slow'), () => {}) })
  slow.listen(port, '127.0.0.3')
  await once(slow, 'listening')
  t.teardown(() => { release?.(); slow.closeAllConnections(); slow.close() })
  dns.set('api.test', ['127.0.0.3'], 1)
  const gw = await startLoggedGateway(t, {
    upstreams: { api: { servers: [{ url: `http://api.test:${port}`, resolve: true }], resolveInterval: '1s' } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    dns: { servers: [dns.server] },
    admin: { port: 0 }
  })
  const states = async (): Promise<Record<string, string>> => {
    const body = await (await fetch(`${String(gw.app.gatehouse.adminUrl)}/upstreams`)).json() as { upstreams: Array<{ servers: Array<{ id: string, state: string }> }> }
    return Object.fromEntries(body.upstreams[0].servers.map(s => [s.id.replace(/^.*@/, ''), s.state]))
  }
  const inFlight = request(`${gw.url}/slow`).then(async res => ({ status: res.statusCode, body: await res.body.text() }))
  await waitFor(async () => (await states())['127.0.0.3'] === 'ready' && gw.app.gatehouse.registry.get('api')?.backends.all()[0].inflight === 1, { what: 'the request in flight on .3' })
  dns.set('api.test', ['127.0.0.2'], 1)
  await waitFor(async () => (await states())['127.0.0.3'] === 'draining', { what: '.3 shown draining', timeout: 6000 })
  t.same(await states(), { '127.0.0.2': 'ready', '127.0.0.3': 'draining' })
  const fresh = await request(`${gw.url}/new`)
  t.equal(await fresh.body.text(), '127.0.0.2', 'new requests go to the address in the answer')
  release?.()
  t.same(await inFlight, { status: 200, body: '127.0.0.3 slow' }, 'the request in flight on the vanished address finished')
  await waitFor(async () => !('127.0.0.3' in (await states())), { what: '.3 removed once drained' })
})

t.test('a reload that changes a resolved server\'s settings applies them to its addresses at once; one that drops resolve stops it', async t => {
  const dns = await startDns(t)
  const { port } = await startBackends(t, ['127.0.0.2', '127.0.0.3'])
  dns.set('api.test', ['127.0.0.2', '127.0.0.3'], 1)
  const config = (server: Record<string, unknown>): GatehouseConfig => ({
    upstreams: { api: { servers: [{ url: `http://api.test:${port}`, ...server }], resolveInterval: '30s' } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    dns: { servers: [dns.server] }
  })
  const gw = await startLoggedGateway(t, config({ resolve: true }))
  const servers = () => gw.app.gatehouse.registry.get('api')?.backends.all().map(b => `${b.id} ${b.weight}`)
  t.same(servers(), [`api.test:${port}@127.0.0.2 1`, `api.test:${port}@127.0.0.3 1`])
  gw.app.gatehouse.reload(config({ resolve: true, weight: 5 }))
  await waitFor(() => servers()?.every(s => s.endsWith(' 5')) === true, { what: 'the new weight on both addresses' })
  gw.app.gatehouse.reload(config({}))
  await waitFor(() => servers()?.length === 1, { what: 'the name back as one server' })
  t.same(servers(), [`api.test:${port} 1`], 'without resolve the name is one server again')
  t.same(gw.app.gatehouse.registry.get('api')?.options.servers.map(s => s.resolve), [undefined])
})
