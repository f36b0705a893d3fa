import t from 'tap'
import { once } from 'node:events'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startH2Gateway } from '../hostile/h2'
import { startGrpcBackend, rawEchoClient, grpc } from './support'
import { waitFor } from '../wait'

type Note = { text: string }

async function gatewayTo (t: Parameters<typeof startH2Gateway>[0], url: string): Promise<number> {
  const gw = await startH2Gateway(t, {
    upstreams: { grpc: { servers: [{ url }], protocol: 'h2c' } },
    routes: [{ match: { path: '/*' }, upstream: 'grpc' }]
  })
  return gw.port
}

function deadline (): { deadline: Date } {
  return { deadline: new Date(Date.now() + 10000) }
}

t.test('server streaming: every message arrives, in order, with the status', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const client = rawEchoClient(t, `127.0.0.1:${await gatewayTo(t, backend.url)}`)
  const call = client.Repeat({ text: 'n', count: 50 }, new grpc.Metadata(), deadline())
  const got: string[] = []
  call.on('data', (n: Note) => got.push(n.text))
  const [status] = await once(call, 'status') as [grpc.StatusObject]
  t.equal(status.code, grpc.status.OK)
  t.same(got, Array.from({ length: 50 }, (_, i) => `n ${i}`))
})

t.test('client streaming: the messages go up one by one and the answer comes once the client ends', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const client = rawEchoClient(t, `127.0.0.1:${await gatewayTo(t, backend.url)}`)
  const answer = new Promise<{ err: grpc.ServiceError | null, value?: Note }>(resolve => {
    const call = client.Collect(new grpc.Metadata(), deadline(), (err: grpc.ServiceError | null, value?: Note) => resolve({ err, value }))
    for (const text of ['a', 'b', 'c']) call.write({ text })
    call.end()
  })
  const { err, value } = await answer
  t.equal(err, null)
  t.same(value, { text: 'a,b,c' })
})

t.test('bidirectional: the reply to each message arrives before the next one is sent', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const client = rawEchoClient(t, `127.0.0.1:${await gatewayTo(t, backend.url)}`)
  const call = client.Chat(new grpc.Metadata(), deadline())
  const status = once(call, 'status') as Promise<[grpc.StatusObject]>
  const replies: string[] = []
  for (const text of ['one', 'two', 'three']) {
    call.write({ text })
    // The gateway must pass the message on and the reply back while the call is still open.
    const [reply] = await once(call, 'data') as [Note]
    replies.push(reply.text)
  }
  call.end()
  const [s] = await status
  t.equal(s.code, grpc.status.OK)
  t.same(replies, ['b1: one', 'b1: two', 'b1: three'])
})

t.test('a server stream of 100 000 messages keeps the gateway\'s memory flat', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const client = rawEchoClient(t, `127.0.0.1:${await gatewayTo(t, backend.url)}`)
  const text = 'x'.repeat(200)
  const count = 100000
  // ~20.5 MB on the wire (200 bytes of text, protobuf and gRPC framing); the test process holds
  // the backend, the gateway and the client, all three streaming.
  const call = client.Repeat({ text, count }, new grpc.Metadata(), { deadline: new Date(Date.now() + 60000) })
  // Garbage is collected before each sample, so that what is counted is what is held.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const used = (): number => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
  const base = used()
  let peak = 0
  let received = 0
  call.on('data', () => {
    if (++received % 10000 === 0) peak = Math.max(peak, used() - base)
  })
  const ended = once(call, 'end')
  const [status] = await once(call, 'status') as [grpc.StatusObject]
  await ended
  t.equal(status.code, grpc.status.OK)
  t.equal(received, count, `every message arrived (${received})`)
  t.ok(peak < 8 * 1024 * 1024, `memory grew by at most 8 MiB during the call (peak ${(peak / 1048576).toFixed(1)} MiB of a ~20 MB stream)`)
})

t.test('backpressure: a client that stops reading stops the backend, with a bounded amount in between', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  const client = rawEchoClient(t, `127.0.0.1:${await gatewayTo(t, backend.url)}`)
  const text = 'x'.repeat(200)
  const count = 1000000
  // ~205 MB if nothing held it back.
  const call = client.Repeat({ text, count }, new grpc.Metadata(), { deadline: new Date(Date.now() + 60000) })
  call.on('error', () => {})
  let received = 0
  call.on('data', () => {
    if (++received === 1) call.pause()
  })
  // The client reads one message and stops: the flow-control windows fill (client, gateway
  // and backend side) and the backend's writes wait for a 'drain' that does not come.
  await waitFor(() => backend.waiting() && received === 1, { what: 'the backend to wait for its client', timeout: 10000 })
  const stalledAt = backend.written()
  // In between: HTTP/2 windows and stream buffers on two hops, a few MB at most.
  const bound = (8 * 1024 * 1024) / 205
  t.ok(stalledAt < bound, `the backend stopped after ${stalledAt} messages (${(stalledAt * 205 / 1048576).toFixed(1)} MB), under ${Math.round(bound)} (8 MiB)`)
  t.ok(stalledAt < count / 100, 'far from the whole stream')
  // Reading again lets it go on.
  call.resume()
  await waitFor(() => backend.written() > stalledAt + 1000, { what: 'the backend to write again', timeout: 10000 })
  t.pass(`written ${backend.written()} after the client read again`)
  call.cancel()
  await waitFor(() => backend.cancelled() === 1, { what: 'the backend to see the call cancelled' })
})
