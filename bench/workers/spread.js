// Compares node:cluster's round-robin (the primary accepts, hands sockets to workers) with
// SO_REUSEPORT (each worker binds the port, the kernel spreads by a hash of the 4-tuple):
//   1. how 64 connections opened at once spread over 2 workers (each answers its pid);
//   2. what happens to connections waiting when a worker exits: worker 1 blocks its event
//      loop, 32 connections arrive, worker 1 exits without accepting them.
// usage: node bench/workers/spread.js rr|reuseport
'use strict'
const cluster = require('node:cluster')
const http = require('node:http')
const net = require('node:net')
const mode = process.argv[2] ?? 'rr'
const PORT = Number(process.env.SPREAD_PORT ?? (process.env.SPREAD_PORT = String(18000 + Math.floor(Math.random() * 1000))))

if (cluster.isPrimary) {
  cluster.schedulingPolicy = mode === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE
  const workers = [cluster.fork(), cluster.fork()]
  let ready = 0
  for (const w of workers) w.on('message', m => { if (m === 'listening' && ++ready === 2) run(workers).catch(e => { console.error(e); process.exit(1) }) })
} else {
  const server = http.createServer((req, res) => res.end(String(process.pid)))
  const opts = mode === 'rr' ? { port: PORT, host: '127.0.0.1' } : { port: PORT, host: '127.0.0.1', reusePort: true, exclusive: true }
  server.listen(opts, () => process.send('listening'))
  process.on('message', m => {
    if (m === 'block-and-exit') {
      process.send('blocking')
      const end = Date.now() + 700
      while (Date.now() < end);
      process.exit(1)
    }
  })
}

function get () {
  return new Promise(resolve => {
    const s = net.connect(PORT, '127.0.0.1')
    let body = ''
    s.setTimeout(3000, () => { s.destroy(); resolve('timeout') })
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'))
    s.on('data', c => { body += c })
    s.on('error', e => resolve(e.code))
    s.on('close', () => resolve(body === '' ? 'closed-empty' : body.split('\r\n\r\n')[1]))
  })
}

async function run (workers) {
  const counts = {}
  for (const r of await Promise.all(Array.from({ length: 64 }, get))) counts[r] = (counts[r] ?? 0) + 1
  const pids = workers.map(w => String(w.process.pid))
  console.log(JSON.stringify({ mode, spread64: pids.map(p => counts[p] ?? 0), other: Object.fromEntries(Object.entries(counts).filter(([k]) => !pids.includes(k))) }))
  workers[0].send('block-and-exit')
  await new Promise(resolve => workers[0].once('message', resolve))
  const outcomes = {}
  const results = await Promise.all(Array.from({ length: 32 }, get))
  for (const r of results) {
    const k = r === pids[1] ? 'served by the other worker' : r === pids[0] ? 'served by the exiting worker' : r
    outcomes[k] = (outcomes[k] ?? 0) + 1
  }
  console.log(JSON.stringify({ mode, whileWorker1ExitsOf32: outcomes }))
  for (const w of workers) w.process.kill()
  process.exit(0)
}
