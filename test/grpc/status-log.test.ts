import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import gatehouse from '../../app'
import type { GatehouseConfig } from '../../lib/config'
import { deadPort, startH2Backend } from '../http2-upstream/support'
import { h2Request } from '../hostile/h2'
import { admin, TOKEN } from '../ops/admin-client'
import { waitFor } from '../wait'
import { startGrpcBackend, echoClient, grpc } from './support'

type Test = { teardown (fn: () => unknown): void }

/** The gateway on HTTP/2 in clear text, its JSON log captured. */
async function start (t: Test, config: GatehouseConfig): Promise<{ app: FastifyInstance, port: number, logs: Array<Record<string, any>> }> {
  const logs: Array<Record<string, any>> = []
  const stream = { write (chunk: string) { for (const l of chunk.split('\n')) if (l !== '') logs.push(JSON.parse(l)) } }
  const app = Fastify({ http2: true, logger: { level: 'info', stream } } as FastifyServerOptions) as unknown as FastifyInstance
  await app.register(gatehouse, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { app, port: (app.server.address() as AddressInfo).port, logs }
}

/** A unary call to any method path with grpc-js's generic client (the payload as raw bytes). */
async function rawUnary (t: Test, target: string, path: string): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure())
  t.teardown(() => client.close())
  return await new Promise(resolve => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new grpc.Metadata(), { deadline: new Date(Date.now() + 5000) }, err => resolve(err))
  })
}

const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('the grpc-status of each call in the access line and in gatehouse_grpc_responses_total: the backend\'s, and the gateway\'s own', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const down = await deadPort()
  const gw = await start(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: {
      grpc: { servers: [{ url: backend.url }], protocol: 'h2c' },
      gone: { servers: [{ url: `http://127.0.0.1:${down}` }], protocol: 'h2c', retries: 0 }
    },
    routes: [
      { name: 'echo', match: { path: '/gatehouse.test.Echo/*' }, upstream: 'grpc' },
      { name: 'dead', match: { path: '/dead.Service/*' }, upstream: 'gone' }
    ]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  t.equal((await client.call('Say', 'hi')).error, null)
  t.equal((await client.call('Fail', `${grpc.status.NOT_FOUND} no such note`)).error?.code, grpc.status.NOT_FOUND, 'a trailers-only answer from the backend')
  t.equal((await client.call('Fail', `${grpc.status.NOT_FOUND} again`)).error?.code, grpc.status.NOT_FOUND)
  t.equal((await rawUnary(t, `127.0.0.1:${gw.port}`, '/dead.Service/Call'))?.code, grpc.status.UNAVAILABLE, 'the gateway\'s own answer')

  await waitFor(() => gw.logs.filter(l => l.msg === 'proxied').length === 4, { what: 'four access lines' })
  const lines = gw.logs.filter(l => l.msg === 'proxied')
  t.same(lines.map(l => [l.upstream, l.status, l.grpcStatus]), [['grpc', 200, '0'], ['grpc', 200, '5'], ['grpc', 200, '5'], ['gone', 200, '14']], 'HTTP 200 every time; the gRPC status tells them apart')

  const text = (await admin(gw.app.gatehouse.adminUrl as string, 'GET', '/metrics', { token: TOKEN })).body
  t.equal(value(text, 'gatehouse_grpc_responses_total{upstream="grpc",route="echo",grpc_status="0"}'), 1)
  t.equal(value(text, 'gatehouse_grpc_responses_total{upstream="grpc",route="echo",grpc_status="5"}'), 2)
  t.equal(value(text, 'gatehouse_grpc_responses_total{upstream="gone",route="dead",grpc_status="14"}'), 1)
  t.equal(value(text, 'gatehouse_requests_total{upstream="grpc",route="echo",status="2xx"}'), 3)
})

t.test('$grpc_status in a template; a call the backend ends without a status is the UNKNOWN its client gets; a plain request has none', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  // A backend that answers a gRPC call 200 and ends it with neither trailers nor a status.
  const broken = await startH2Backend(t, 'broken', undefined, (req, res) => {
    req.resume()
    res.setHeader('content-type', 'application/grpc')
    res.end()
  })
  const file = join(mkdtempSync(join(tmpdir(), 'gh-grpc-log-')), 'access.log')
  const gw = await start(t, {
    admin: { port: 0, token: TOKEN },
    accessLog: { format: '$route $status $grpc_status', destination: file },
    upstreams: { grpc: { servers: [{ url: backend.url }], protocol: 'h2c' }, broken: { servers: [{ url: broken.url }], protocol: 'h2c' } },
    routes: [
      { name: 'echo', match: { path: '/gatehouse.test.Echo/*' }, upstream: 'grpc' },
      { name: 'broken', match: { path: '/broken.Service/*' }, upstream: 'broken' }
    ]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  t.equal((await client.call('Fail', `${grpc.status.PERMISSION_DENIED} no`)).error?.code, grpc.status.PERMISSION_DENIED)
  t.not((await rawUnary(t, `127.0.0.1:${gw.port}`, '/broken.Service/Call')), null, 'the client sees a failed call')
  t.equal((await h2Request(gw.port, { ':method': 'GET', ':path': '/broken.Service/x' })).status, 200, 'not a gRPC call')
  const lines = (): string[] => existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(l => l !== '') : []
  await waitFor(() => lines().length === 3, { what: 'three lines' })
  t.same(lines(), ['echo 200 7', 'broken 200 2', 'broken 200 -'])
  const text = (await admin(gw.app.gatehouse.adminUrl as string, 'GET', '/metrics', { token: TOKEN })).body
  t.equal(value(text, 'gatehouse_grpc_responses_total{upstream="grpc",route="echo",grpc_status="7"}'), 1)
  t.equal(value(text, 'gatehouse_grpc_responses_total{upstream="broken",route="broken",grpc_status="2"}'), 1, 'counted once: the plain request is no gRPC call')
})
