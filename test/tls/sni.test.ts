import t from 'tap'
import { startBackend } from '../helper'
import { makeCerts } from './certs'
import { httpsCall, startTlsGateway } from './gateway'

t.test('SNI: the exact name, then a one-label wildcard, then the default certificate', async t => {
  const certs = makeCerts(t)
  certs.leaf('default', 'default.test', ['127.0.0.1', 'default.test'])
  certs.leaf('api', 'api.example.com', ['api.example.com'])
  certs.leaf('wild', 'wildcard.example.com', ['*.example.com'])
  const b = await startBackend(t, 'b')
  const gw = await startTlsGateway(t, {
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: {
      tls: {
        cert: 'default.pem',
        key: 'default-key.pem',
        // The wildcard listed after the exact name: order in the file must not matter.
        sni: { 'api.example.com': { cert: 'api.pem', key: 'api-key.pem' }, '*.example.com': { cert: 'wild.pem', key: 'wild-key.pem' } }
      }
    }
  }, { baseDir: certs.dir })

  const peer = async (servername?: string) => (await httpsCall(`${gw.url}/`, { ca: certs.caPem, servername, headers: { host: servername ?? '127.0.0.1' } })).peerCN
  t.equal(await peer('api.example.com'), 'api.example.com', 'exact name')
  t.equal(await peer('shop.example.com'), 'wildcard.example.com', 'wildcard')
  t.equal(await peer('default.test'), 'default.test', 'no match: the default')
  t.equal(await peer(), 'default.test', 'no SNI at all (an IP address): the default')
  const deep = await httpsCall(`${gw.url}/`, { ca: certs.caPem, servername: 'a.b.example.com' }).then(r => r.peerCN, (e: Error) => e.message)
  t.match(deep, /default\.test/, 'a wildcard covers one label only: a.b.example.com gets the default')
})

t.test('app.gatehouse.reload() swaps SNI certificates too; a name the reload removed gets the default', async t => {
  const certs = makeCerts(t)
  certs.leaf('default', 'default.test', ['127.0.0.1'])
  certs.leaf('api1', 'api-v1', ['api.example.com'])
  certs.leaf('api2', 'api-v2', ['api.example.com'])
  certs.leaf('old', 'old.example.com', ['old.example.com'])
  const b = await startBackend(t, 'b')
  const config = (api: string, extra: Record<string, { cert: string, key: string }>) => ({
    upstreams: { u: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }],
    listen: { tls: { cert: 'default.pem', key: 'default-key.pem', sni: { 'api.example.com': { cert: `${api}.pem`, key: `${api}-key.pem` }, ...extra } } }
  })
  const gw = await startTlsGateway(t, config('api1', { 'old.example.com': { cert: 'old.pem', key: 'old-key.pem' } }), { baseDir: certs.dir })
  const peer = async (servername: string) => (await httpsCall(`${gw.url}/`, { ca: certs.caPem, servername }).then(r => r.peerCN, (e: Error) => e.message))
  t.equal(await peer('api.example.com'), 'api-v1')
  t.equal(await peer('old.example.com'), 'old.example.com')

  t.throws(() => gw.app.gatehouse.reload(config('missing', {})), /listen\.tls\.sni\["api\.example\.com"\]\.cert: cannot read/, 'a missing file refuses the reload by name')
  t.equal(await peer('api.example.com'), 'api-v1', 'and the old certificate keeps serving')

  gw.app.gatehouse.reload(config('api2', {}))
  t.equal(await peer('api.example.com'), 'api-v2', 'rotated')
  t.match(await peer('old.example.com'), /default\.test/, 'removed: the default certificate')
  t.ok(gw.logs.some(l => l.msg === 'certificates rotated'))
})
