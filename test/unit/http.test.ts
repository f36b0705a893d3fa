import t from 'tap'
import { forwardRequestHeaders, withoutHopByHop } from '../../lib/http/forward-headers'

t.test('hop-by-hop headers and those Connection names are left out of the copy', async t => {
  const headers = {
    connection: 'keep-alive, X-Custom , x-other',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    trailer: 'x-sum',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
    'proxy-authorization': 'Basic x',
    'proxy-connection': 'keep-alive',
    expect: '100-continue',
    'x-custom': 'gone',
    'x-other': 'gone too',
    'x-kept': 'kept',
    'content-type': 'text/plain',
    'x-empty': undefined
  }
  const out = withoutHopByHop(headers)
  t.same(out, { 'x-kept': 'kept', 'content-type': 'text/plain' })
  t.equal(headers['x-custom'], 'gone', 'the input is not changed')
})

t.test('forwarding headers', async t => {
  const client = { ip: '10.0.0.7', protocol: 'https' as const, host: 'shop.example.com', requestId: 'r1' }
  let out = forwardRequestHeaders({ host: '127.0.0.1:9001', 'x-forwarded-for': '203.0.113.1, 198.51.100.2' }, client, true)
  t.same(out, {
    host: 'shop.example.com',
    'x-forwarded-for': '203.0.113.1, 198.51.100.2, 10.0.0.7',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'shop.example.com',
    'x-request-id': 'r1'
  })
  out = forwardRequestHeaders({ host: '127.0.0.1:9001', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'spoofed' }, client, false)
  t.equal(out.host, '127.0.0.1:9001', 'the backend host when not preserved')
  t.equal(out['x-forwarded-proto'], 'https', 'proto is this hop\'s, not the client\'s claim')
  t.equal(out['x-forwarded-host'], 'shop.example.com')
  t.equal(out['x-forwarded-for'], '10.0.0.7')
})
