import t from 'tap'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { startGrpcBackend, rawEchoClient, grpc } from './support'

type Memory = { heapUsed: number, arrayBuffers: number }

t.test('a server stream of 100 000 messages: the gateway\'s own heap at 100 000 is where it was at 10 000', async t => {
  const backend = await startGrpcBackend(t, 'b1')
  // The gateway alone in its process: what it holds is not mixed with the backend's and the client's.
  const child = fork(join(__dirname, 'fixtures', 'gateway-child.ts'), [backend.url], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  t.teardown(() => { child.kill() })
  const [line] = await once(child.stdout!, 'data') as [Buffer]
  const { port } = JSON.parse(line.toString()) as { port: number }
  const memory = async (): Promise<Memory> => {
    child.send({ cmd: 'memory' })
    const [m] = await once(child, 'message') as [Memory]
    return m
  }
  const client = rawEchoClient(t, `127.0.0.1:${port}`)
  const count = 100000
  const call = client.Repeat({ text: 'x'.repeat(200), count }, new grpc.Metadata(), { deadline: new Date(Date.now() + 60000) })
  const samples: Array<{ at: number, m: Memory }> = []
  let received = 0
  call.on('data', () => {
    received++
    if (received === 10000 || received === count - 1) {
      // The stream is paused while the gateway is sampled, so both samples see it mid-flight.
      call.pause()
      const at = received
      memory().then(m => { samples.push({ at, m }); call.resume() }, () => call.resume())
    }
  })
  const ended = once(call, 'end')
  const [status] = await once(call, 'status') as [grpc.StatusObject]
  await ended
  t.equal(status.code, grpc.status.OK)
  t.equal(received, count, `every message arrived (${received})`)
  t.equal(samples.length, 2)
  const [early, late] = samples
  const grew = (late.m.heapUsed + late.m.arrayBuffers) - (early.m.heapUsed + early.m.arrayBuffers)
  // ~18 MB passed between the two samples; a gateway that kept messages would hold most of it.
  t.ok(grew < 4 * 1024 * 1024, `the gateway's heap and buffers grew by ${(grew / 1048576).toFixed(2)} MiB from 10 000 to ${late.at} messages (under 4 MiB, of ~18 MB streamed)`)
})
