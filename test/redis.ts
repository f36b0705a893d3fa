import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'

type Test = {
  teardown (fn: () => unknown): void
}

/** The Redis CI starts (.ci/run) and tests share; each test keeps to keys of its own. */
export const sharedRedisUrl = 'redis://127.0.0.1:6379'

/** Resolves when Redis at `url` answers PING within `timeout` ms, rejects otherwise. */
export async function pingRedis (url: string, timeout = 500): Promise<void> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port === '' ? 6379 : port), hostname)
  socket.setTimeout(timeout)
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      let data = ''
      socket.once('connect', () => socket.write('PING\r\n'))
      socket.on('data', chunk => {
        data += chunk.toString()
        if (data.includes('\r\n')) resolve(data)
      })
      socket.once('timeout', () => reject(new Error('timed out')))
      socket.once('error', reject)
    })
    if (!answer.startsWith('+PONG')) throw new Error(`answered ${JSON.stringify(answer)}`)
  } finally {
    socket.destroy()
  }
}

/**
 * Fails (never skips) when the shared Redis is not there: a limit that silently stops
 * being tested is worse than a red build.
 */
export async function requireSharedRedis (): Promise<string> {
  try {
    await pingRedis(sharedRedisUrl)
  } catch (err) {
    throw new Error(`no Redis at ${sharedRedisUrl} (${(err as Error).message}); run \`bash .ci/run\` or start redis-server`)
  }
  return sharedRedisUrl
}

export interface TestRedis {
  port: number
  url: string
  /** Kills the server (SIGKILL, as a crash) and waits until it has exited. */
  stop (): Promise<void>
  /** Starts it again on the same port, empty, and waits until it answers. */
  start (): Promise<void>
}

/**
 * A private redis-server on a free port, for tests where Redis must die mid-run. It is
 * stopped by its own pid in teardown; nothing else is touched.
 */
export async function startRedis (t: Test): Promise<TestRedis> {
  for (let tries = 1; ; tries++) {
    try {
      return await startRedisOn(t, privatePort())
    } catch (err) {
      // Most likely another test file's redis took the port: try another, a few times.
      if (tries >= 5) throw err
    }
  }
}

/**
 * redis-server cannot listen on port 0 and say which port it got, and a port bound and
 * released by us could be taken meanwhile. So it takes a random port below Linux's
 * ephemeral range (32768 and up, ip_local_port_range), which no listen(0) or outgoing
 * connection is handed; a clash with another test's pick makes redis-server exit, and
 * startRedis tries another. A restart after stop() reuses the port, which only this test
 * picked.
 */
function privatePort (): number {
  return 20_000 + Math.floor(Math.random() * 12_000)
}

async function startRedisOn (t: Test, port: number): Promise<TestRedis> {
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  const redis: TestRedis = {
    port,
    url,
    async start () {
      const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      child = proc
      const exited = new Promise<never>((_resolve, reject) => {
        proc.once('error', err => reject(new Error(`cannot start redis-server: ${err.message}`)))
        proc.once('exit', code => reject(new Error(`redis-server exited with code ${code}`)))
      })
      exited.catch(() => {})
      await Promise.race([exited, waitForRedis(url, 5_000)])
    },
    async stop () {
      const proc = child
      child = undefined
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
      const exited = once(proc, 'exit')
      proc.kill('SIGKILL')
      await exited
    }
  }
  t.teardown(() => redis.stop())
  await redis.start()
  return redis
}

async function waitForRedis (url: string, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout
  for (;;) {
    try {
      await pingRedis(url, 200)
      return
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not answer within ${timeout} ms: ${(err as Error).message}`)
      await sleep(20)
    }
  }
}
