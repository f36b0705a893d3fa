import t from 'tap'
import { join } from 'node:path'
import { ROOT } from '../readme'
import { writeConfig } from '../standalone/process'
import { startBackend, call } from '../helper'
import { launch } from './launch'

const BIN = join(ROOT, 'dist', 'bin', 'gatehouse.js')

// Behind another balancer, `--trust-proxy` lets the address filters see the client that the
// balancer names in X-Forwarded-For; without it, a client cannot pick its own address that way.
t.test('the gatehouse command: --trust-proxy decides whose X-Forwarded-For the filters believe', async t => {
  const b = await startBackend(t, 'b')
  const file = writeConfig({
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u', filters: { allow: ['10.9.9.9/32'] } }]
  })
  const spoofed = { 'x-forwarded-for': '10.9.9.9' }

  const plain = launch(t, process.execPath, [BIN, '--port', '0', file])
  const { url: plainUrl } = await plain.listening()
  t.equal((await call(`${plainUrl}/x`, { headers: spoofed })).status, 403, 'without the flag the peer (127.0.0.1) is the client')
  plain.child.kill('SIGTERM')
  await plain.exited

  const trusting = launch(t, process.execPath, [BIN, '--port', '0', '--trust-proxy', '127.0.0.1', file])
  const { url } = await trusting.listening()
  t.equal((await call(`${url}/x`, { headers: spoofed })).status, 200, 'a trusted peer names the client')
  t.equal((await call(`${url}/x`)).status, 403, 'and without the header the peer is the client again')
  t.equal(b.hits.length, 1, 'only the allowed request reached the backend')
  trusting.child.kill('SIGTERM')
  await trusting.exited
})
