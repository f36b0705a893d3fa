import t from 'tap'
import { join } from 'node:path'
import { loadSync } from '@grpc/proto-loader'
import { startH2Gateway } from '../hostile/h2'
import { waitFor } from '../wait'
import { echoClient, grpc } from './support'

const Health = (grpc.loadPackageDefinition(loadSync(join(__dirname, 'health.proto'), { enums: String })) as any).grpc.health.v1.Health as grpc.ServiceClientConstructor

type Statuses = Record<string, string>

/** A grpc-js server of Health (answering from `statuses` by service name, NOT_FOUND for one not there) and of Echo's Say. */
async function startHealthBackend (t: Parameters<typeof startH2Gateway>[0], statuses: Statuses): Promise<{ url: string, asked: string[] }> {
  const asked: string[] = []
  const server = new grpc.Server()
  server.addService(Health.service, {
    Check (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      asked.push(call.request.service)
      const status = statuses[call.request.service]
      if (status === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' })
      else cb(null, { status })
    }
  })
  const Echo = (grpc.loadPackageDefinition(loadSync(join(__dirname, 'echo.proto'))) as any).gatehouse.test.Echo as grpc.ServiceClientConstructor
  server.addService(Echo.service, {
    Say (call: grpc.ServerUnaryCall<{ text: string }, { text: string }>, cb: grpc.sendUnaryData<{ text: string }>) { cb(null, { text: call.request.text }) }
  })
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => err === null ? resolve(p) : reject(err)))
  t.teardown(() => server.forceShutdown())
  return { url: `http://127.0.0.1:${port}`, asked }
}

t.test('healthCheck type grpc: SERVING keeps a server in, anything else takes it out', async t => {
  const statuses: Statuses = { 'gatehouse.test.Echo': 'SERVING' }
  const backend = await startHealthBackend(t, statuses)
  const gw = await startH2Gateway(t, {
    upstreams: {
      grpc: {
        servers: [{ url: backend.url }],
        protocol: 'h2c',
        retries: 0,
        healthCheck: { type: 'grpc', service: 'gatehouse.test.Echo', interval: 20, timeout: 1000, healthyThreshold: 1, unhealthyThreshold: 1 }
      }
    },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  const client = echoClient(t, `127.0.0.1:${gw.port}`)
  await waitFor(() => backend.asked.length > 0, { what: 'a health check' })
  t.equal(backend.asked[0], 'gatehouse.test.Echo', 'the check named the service')
  t.equal((await client.call('Say', 'up')).error, null, 'SERVING: calls go through')

  statuses['gatehouse.test.Echo'] = 'NOT_SERVING'
  await waitFor(async () => (await client.call('Say', 'x')).error?.code === grpc.status.UNAVAILABLE, { what: 'NOT_SERVING to take the server out' })
  const out = await client.call('Say', 'x')
  t.equal(out.error?.details, 'No server of upstream "grpc" is available')

  statuses['gatehouse.test.Echo'] = 'SERVING'
  await waitFor(async () => (await client.call('Say', 'x')).error === null, { what: 'SERVING to bring it back' })

  delete statuses['gatehouse.test.Echo']
  await waitFor(async () => (await client.call('Say', 'x')).error?.code === grpc.status.UNAVAILABLE, { what: 'a failed Check (NOT_FOUND) to take it out' })
})
