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
  /** How many calls the backend saw cancelled (the client, or the gateway for it, gave up). */
  cancelled (): number
  /** Messages written by server streams (Repeat) so far. */
  written (): number
  /** Whether a server stream is waiting for its client to read (its write() said to wait for 'drain'). */
  waiting (): boolean
}

/** A @grpc/grpc-js server of the Echo service on 127.0.0.1:0: in clear text (h2c), or over TLS with `tls`. */
export async function startGrpcBackend (t: Test, name: string, tls?: { cert: string, key: string }): Promise<GrpcBackend> {
  const calls: grpc.Metadata[] = []
  let cancelled = 0
  let written = 0
  let waiting = false
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
    },
    Repeat (call: grpc.ServerWritableStream<{ text: string, count: number, hold: boolean }, { text: string }>) {
      calls.push(call.metadata)
      call.on('cancelled', () => { cancelled++ })
      if (call.request.hold) return
      // Written with backpressure: the next note waits for the stream to drain.
      let i = 0
      const write = (): void => {
        while (i < call.request.count) {
          if (call.cancelled) return
          written++
          if (!call.write({ text: `${call.request.text} ${i++}` })) {
            waiting = true
            call.once('drain', () => { waiting = false; write() })
            return
          }
        }
        call.end()
      }
      write()
    },
    Collect (call: grpc.ServerReadableStream<{ text: string }, { text: string }>, cb: grpc.sendUnaryData<{ text: string }>) {
      calls.push(call.metadata)
      const texts: string[] = []
      call.on('data', (n: { text: string }) => texts.push(n.text))
      call.on('end', () => cb(null, { text: texts.join(',') }))
    },
    Chat (call: grpc.ServerDuplexStream<{ text: string }, { text: string }>) {
      calls.push(call.metadata)
      call.on('data', (n: { text: string }) => call.write({ text: `${name}: ${n.text}` }))
      call.on('end', () => call.end())
    }
  })
  const port = await new Promise<number>((resolve, reject) => {
    const credentials = tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }])
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => err === null ? resolve(p) : reject(err))
  })
  t.teardown(() => server.forceShutdown())
  return { port, url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`, calls, cancelled: () => cancelled, written: () => written, waiting: () => waiting }
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

/** A raw grpc-js client of the Echo service, for streaming calls; closed in teardown. */
export function rawEchoClient (t: Test, target: string): any {
  const client = new Echo(target, grpc.credentials.createInsecure())
  t.teardown(() => client.close())
  return client
}

export { grpc }
