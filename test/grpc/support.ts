import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { join } from 'node:path'

type Test = { teardown (fn: () => unknown): void }

// The test service (echo.proto): Say answers the text back with metadata in its trailers; Fail
// answers the status and message its text names, "CODE message".
const definition = grpc.loadPackageDefinition(loadSync(join(__dirname, 'echo.proto'))) as any
const Echo = definition.gatehouse.test.Echo as grpc.ServiceClientConstructor

export interface GrpcBackend {
  port: number
  url: string
  /** The metadata of every call that reached it. */
  calls: grpc.Metadata[]
}

/** A @grpc/grpc-js server of the Echo service on 127.0.0.1:0: in clear text (h2c), or over TLS with `tls`. */
export async function startGrpcBackend (t: Test, name: string, tls?: { cert: string, key: string }): Promise<GrpcBackend> {
  const calls: grpc.Metadata[] = []
  const server = new grpc.Server()
  server.addService(Echo.service, {
    Say (call: grpc.ServerUnaryCall<{ text: string }, { text: string }>, cb: grpc.sendUnaryData<{ text: string }>) {
      calls.push(call.metadata)
      const trailer = new grpc.Metadata()
      trailer.set('x-backend', name)
      trailer.set('x-trace-bin', Buffer.from([0, 1, 2, 255]))
      cb(null, { text: `${name}: ${call.request.text}` }, trailer)
    },
    Fail (call: grpc.ServerUnaryCall<{ text: string }, { text: string }>, cb: grpc.sendUnaryData<{ text: string }>) {
      calls.push(call.metadata)
      const [code, ...message] = call.request.text.split(' ')
      cb({ code: Number(code), details: message.join(' ') })
    }
  })
  const port = await new Promise<number>((resolve, reject) => {
    const credentials = tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }])
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => err === null ? resolve(p) : reject(err))
  })
  t.teardown(() => server.forceShutdown())
  return { port, url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`, calls }
}

export interface Reply {
  error: grpc.ServiceError | null
  value: { text: string } | undefined
  trailers: grpc.Metadata | undefined
}

/** A grpc-js client of the Echo service to `target` (host:port) in clear text, closed in teardown. */
export function echoClient (t: Test, target: string): { call (method: 'Say' | 'Fail', text: string): Promise<Reply> } {
  const client = new Echo(target, grpc.credentials.createInsecure())
  t.teardown(() => client.close())
  return {
    async call (method, text) {
      return await new Promise<Reply>(resolve => {
        let trailers: grpc.Metadata | undefined
        const deadline = new Date(Date.now() + 5000)
        const call = (client as any)[method]({ text }, new grpc.Metadata(), { deadline }, (error: grpc.ServiceError | null, value: { text: string } | undefined) => {
          // The status event may come after the callback; the metadata is read from it there.
          setImmediate(() => resolve({ error, value, trailers }))
        })
        call.on('status', (s: grpc.StatusObject) => { trailers = s.metadata })
      })
    }
  }
}

export { grpc }
