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
