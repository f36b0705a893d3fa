/**
 * The benchmark's backend, run by bench/run.ts as a child process so that it has an event
 * loop of its own (not shared with the load generator). node:http with keep-alive on
 * 127.0.0.1:0:
 *   GET /small  a ~100 byte JSON body
 *   GET /big    1 MiB, one precomputed Buffer
 * Prints `{"port":N}` on stdout once listening; exits when its parent goes away.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const SMALL = Buffer.from(JSON.stringify({ ok: true, service: 'bench-backend', message: 'hello from the benchmark backend', n: 42 }))
const BIG = Buffer.alloc(1024 * 1024, 'gatehouse benchmark payload; ')

const SMALL_HEADERS = { 'content-type': 'application/json', 'content-length': String(SMALL.length) }
const BIG_HEADERS = { 'content-type': 'application/octet-stream', 'content-length': String(BIG.length) }

const server = createServer((req, res) => {
  req.resume()
  if (req.url === '/small') {
    res.writeHead(200, SMALL_HEADERS)
    res.end(SMALL)
  } else if (req.url === '/big') {
    res.writeHead(200, BIG_HEADERS)
    res.end(BIG)
  } else {
    res.writeHead(404, { 'content-length': '0' })
    res.end()
  }
})
server.keepAliveTimeout = 60_000
server.headersTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port, small: SMALL.length, big: BIG.length }) + '\n')
})

// Bounded: never outlive the benchmark.
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
