/**
 * One party of bench/grpc.ts, as a child process of its own (own event loop, own CPU time):
 *
 *   node --import tsx bench/grpc-proc.ts backend
 *   node --import tsx bench/grpc-proc.ts gatehouse <backend-port>
 *
 * `backend` is a @grpc/grpc-js server of the test Echo service; `gatehouse` the gateway on a
 * clear-text HTTP/2 listener with the backend as an h2c upstream. Prints `{"port":N}`; over
 * IPC answers { cmd: 'cpu' } with its process.cpuUsage() in µs (and, for the gateway, the
 * connections it opened to the backend so far). Exits when the parent goes.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { AddressInfo } from 'node:net'
import { subscribe } from 'node:diagnostics_channel'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { join } from 'node:path'

const [kind, backendPort] = process.argv.slice(2)

async function backend (): Promise<number> {
  const definition = grpc.loadPackageDefinition(loadSync(join(__dirname, '..', 'test', 'grpc', 'echo.proto'))) as any
  const server = new grpc.Server()
  server.addService(definition.gatehouse.test.Echo.service, {
    Say (call: grpc.ServerUnaryCall<{ text: string }, { text: string }>, cb: grpc.sendUnaryData<{ text: string }>) {
      cb(null, { text: call.request.text })
    }
  })
  return await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => err === null ? resolve(port) : reject(err))
  })
}

async function gatehouse (): Promise<number> {
  const { default: plugin } = await import('../app')
  const app = Fastify({ logger: false, http2: true } as FastifyServerOptions) as unknown as FastifyInstance
  await app.register(plugin, {
    upstreams: { bench: { servers: [{ url: `http://127.0.0.1:${backendPort}` }], protocol: 'h2c', connections: 64 } },
    routes: [{ match: { path: '/*' }, upstream: 'bench' }]
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

// Connections the gateway opened to the backend: undici publishes each one it connects.
let connections = 0
if (kind !== 'backend') subscribe('undici:client:connected', () => { connections++ })

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'cpu') process.send?.({ cpu: process.cpuUsage(), connections: kind === 'backend' ? undefined : connections })
})
process.on('disconnect', () => process.exit(0))

;(kind === 'backend' ? backend() : gatehouse()).then(port => {
  process.stdout.write(JSON.stringify({ port }) + '\n')
}, err => {
  console.error(err)
  process.exit(1)
})
