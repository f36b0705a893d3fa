import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfigFile, normalizeConfig } from '../../../lib/config'
import gatehouse from '../../../app'
import { makeCerts } from '../../tls/certs'

const base = {
  upstreams: { u: { servers: [{ url: 'https://127.0.0.1:9443' }] } },
  routes: [{ match: { path: '/*' }, upstream: 'u' }]
}

function problems (config: unknown, baseDir: string): string {
  try {
    normalizeConfig(config, { baseDir })
  } catch (err) {
    return (err as Error).message
  }
  return 'no error'
}

t.test('config validation names a missing certificate file, a key that is not the certificate\'s, and an sni name that is not a host name', async t => {
  const certs = makeCerts(t)
  certs.leaf('a', 'a.test', ['a.test'])
  certs.leaf('b', 'b.test', ['b.test'])
  const msg = problems({
    ...base,
    listen: {
      tls: {
        cert: 'missing.pem',
        key: 'a-key.pem',
        sni: {
          'b.test': { cert: 'b.pem', key: 'a-key.pem' },
          'not a host': { cert: 'b.pem', key: 'b-key.pem' },
          'a.*.test': { cert: 'b.pem', key: 'b-key.pem' }
        }
      }
    }
  }, certs.dir)
  t.match(msg, `listen.tls.cert: cannot read ${join(certs.dir, 'missing.pem')}: no such file`)
  t.match(msg, `listen.tls.sni["b.test"].key: ${join(certs.dir, 'a-key.pem')} is not the private key of ${join(certs.dir, 'b.pem')}`)
  t.match(msg, 'listen.tls.sni["not a host"]: not a host name')
  t.match(msg, 'listen.tls.sni["a.*.test"]: not a host name')

  const up = problems({ ...base, upstreams: { u: { servers: [{ url: 'https://127.0.0.1:9443' }], tls: { ca: 'nope.pem', cert: 'a.pem' } } } }, certs.dir)
  t.match(up, 'upstreams.u.tls.ca: cannot read')
  t.match(up, 'upstreams.u.tls: cert and key go together')
  const shared = { servers: [{ url: 'https://127.0.0.1:9443' }] }
  t.equal(problems({ ...base, upstreams: { u: shared, v: { ...shared, tls: { servername: 'x.internal' } } } }, certs.dir),
    'no error', 'one server in two groups with other tls settings: a pool for each (test/tls/shared-backend.test.ts)')
  t.match(problems({ ...base, listen: { http2: true } }, certs.dir), 'listen.http2: needs listen.tls')
  t.match(problems({ ...base, listen: { tls: { cert: 'a.pem', key: 'a-key.pem', minVersion: 'TLSv1.1' } } }, certs.dir), 'listen.tls.minVersion')
  t.equal(problems({ ...base, listen: { tls: { cert: 'a.pem', key: 'a-key.pem' }, http2: true } }, certs.dir), 'no error')
})

t.test('paths are relative to the config file; serverOptions gives https and http2 with HTTP/1.1 allowed', async t => {
  const certs = makeCerts(t)
  const a = certs.leaf('a', 'a.test', ['a.test'])
  const file = join(certs.dir, 'gatehouse.json')
  const config = { ...base, listen: { tls: { cert: 'a.pem', key: 'a-key.pem' }, http2: true } }
  writeFileSync(file, JSON.stringify(config))
  const loaded = loadConfigFile(file)
  t.equal(loaded.listen.tls?.certFile, a.cert, 'read next to the config file, whatever the working directory')
  const options = gatehouse.serverOptions(config, { baseDir: certs.dir })
  t.equal(options.http2, true)
  t.equal(options.https?.allowHTTP1, true)
  t.equal(options.https?.cert, a.pem())
  t.same(gatehouse.serverOptions(base), {}, 'no listen.tls: no server options')
  t.throws(() => gatehouse.serverOptions(config), /cannot read/, 'relative to the working directory without baseDir')
})
