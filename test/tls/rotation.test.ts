import t from 'tap'
import { copyFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { EPHEMERAL_PORT, launch } from '../command/launch'
import { slowBackend } from '../command/slow-backend'
import { startBackend } from '../helper'
import { makeCerts } from './certs'
import { h2Call, httpsCall } from './gateway'

const ROOT = resolve(__dirname, '..', '..')
const CLI = join(ROOT, 'node_modules', 'fastify-cli', 'cli.js')
const APP = join(ROOT, 'dist', 'app.js')
const BIN = join(ROOT, 'dist', 'bin', 'gatehouse.js')

t.test('under `fastify start -o`: HTTPS from the config alone; SIGHUP rotates the certificate with a request in flight; a broken file is refused', async t => {
  const certs = makeCerts(t)
  const v1 = certs.leaf('v1', 'v1.gatehouse.test', ['127.0.0.1'])
  const v2 = certs.leaf('v2', 'v2.gatehouse.test', ['127.0.0.1'])
  const site = { cert: join(certs.dir, 'site.pem'), key: join(certs.dir, 'site-key.pem') }
  const install = (leaf: { cert: string, key: string }) => { copyFileSync(leaf.cert, site.cert); copyFileSync(leaf.key, site.key) }
  install(v1)
  const slow = await slowBackend(t, 'b')
  const file = join(certs.dir, 'gatehouse.json')
  writeFileSync(file, JSON.stringify({
    upstreams: { u: { servers: [{ url: slow.backend.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: 'site.pem', key: 'site-key.pem' }, http2: true }
  }))
  const gw = launch(t, process.execPath, [CLI, 'start', '-o', '-l', 'info', '-a', '127.0.0.1', '-p', '0', APP], {
    env: { GATEHOUSE_CONFIG: file, FASTIFY_CLOSE_GRACE_DELAY: '', ...EPHEMERAL_PORT }
  })
  const { url, pid } = await gw.listening()
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/, 'fastify-cli serves https from the options dist/app.js exports')
  const first = await httpsCall(`${url}/x`, { ca: certs.caPem })
  t.equal(first.status, 200)
  t.equal(first.peerCN, 'v1.gatehouse.test')

  const inFlight = httpsCall(`${url}/slow`, { ca: certs.caPem })
  await slow.arrived
  install(v2)
  process.kill(pid, 'SIGHUP')
  await gw.waitForLog(l => l.msg === 'certificates rotated')
  const fresh = await httpsCall(`${url}/x`, { ca: certs.caPem })
  t.equal(fresh.peerCN, 'v2.gatehouse.test', 'a new connection gets the new certificate')
  const h2 = await h2Call(url, { ca: certs.caPem, path: '/x' })
  t.equal(h2.alpn, 'h2', 'ALPN still offers h2 after the swap')
  t.equal(h2.peerCN, 'v2.gatehouse.test')
  slow.release()
  const done = await inFlight
  t.equal(done.status, 200, 'the request in flight finished on its connection')
  t.equal(done.body, 'slow done')
  t.equal(done.peerCN, 'v1.gatehouse.test', 'with the certificate it started with')

  // A key that is not the certificate's, then a missing key: refused by name; v2 keeps serving.
  copyFileSync(v1.key, site.key)
  process.kill(pid, 'SIGHUP')
  const refused = await gw.waitForLog(l => l.msg === 'config reload refused; the previous config keeps serving')
  t.match(refused.error, `${site.key} is not the private key of ${site.cert}`)
  rmSync(site.key)
  process.kill(pid, 'SIGHUP')
  await gw.waitForLog(l => l.msg === 'config reload refused; the previous config keeps serving' && /no such file/.test(l.error))
  t.match(gw.logs.filter(l => /refused/.test(l.msg ?? '')).pop()?.error, `cannot read ${site.key}`)
  const still = await httpsCall(`${url}/x`, { ca: certs.caPem })
  t.equal(still.status, 200)
  t.equal(still.peerCN, 'v2.gatehouse.test', 'the certificate in force keeps serving')

  process.kill(pid, 'SIGTERM')
  t.equal((await gw.exited).code, 0)
})

t.test('the gatehouse command serves TLS from the config by itself', async t => {
  const certs = makeCerts(t)
  certs.leaf('site', 'cmd.gatehouse.test', ['127.0.0.1'])
  const b = await startBackend(t, 'b')
  const file = join(certs.dir, 'gatehouse.json')
  writeFileSync(file, JSON.stringify({
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: 'site.pem', key: 'site-key.pem' } }
  }))
  const gw = launch(t, process.execPath, [BIN, '--port', '0', file])
  const { url, pid } = await gw.listening()
  t.match(url, /^https:\/\//)
  const res = await httpsCall(`${url}/x`, { ca: certs.caPem })
  t.equal(res.status, 200)
  t.equal(res.peerCN, 'cmd.gatehouse.test')
  t.equal(b.hits[0].headers['x-forwarded-proto'], 'https')
  process.kill(pid, 'SIGTERM')
  t.equal((await gw.exited).code, 0)
})

t.test('listen.tls under `fastify start` without -o: exit 1 saying to add -o, rather than serve plain HTTP', async t => {
  const certs = makeCerts(t)
  certs.leaf('site', 'x', ['127.0.0.1'])
  const file = join(certs.dir, 'gatehouse.json')
  writeFileSync(file, JSON.stringify({
    upstreams: { u: { servers: [{ url: 'http://127.0.0.1:1' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: 'site.pem', key: 'site-key.pem' } }
  }))
  const gw = launch(t, process.execPath, [CLI, 'start', '-l', 'info', '-a', '127.0.0.1', '-p', '0', APP], { env: { GATEHOUSE_CONFIG: file, ...EPHEMERAL_PORT } })
  t.equal((await gw.exited).code, 1)
  t.match(gw.stderr(), 'listen.tls: the server was created without TLS. Under fastify start add -o')
})
