import t from 'tap'
import { startBackend } from '../../helper'
import { rawRequest } from '../../hostile/raw'
import { startFilterGateway } from './support'

// A header sent twice with empty values reaches the route joined as ", ": every element is
// empty, so it is as missing as an absent one.
t.test('filters.requireHeaders: a header whose every comma-separated element is empty is missing', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', filters: { requireHeaders: { 'X-Api-Key': true } } }]
  })
  const send = (lines: string[]) => rawRequest(gw.port, `GET /x HTTP/1.1\r\nHost: gw.test\r\n${lines.join('\r\n')}${lines.length > 0 ? '\r\n' : ''}Connection: close\r\n\r\n`)
  for (const lines of [
    ['X-Api-Key:', 'X-Api-Key:'],
    ['X-Api-Key: ', 'X-Api-Key: \t'],
    ['X-Api-Key: ,', 'X-Api-Key: , ,'],
    ['X-Api-Key:   ']
  ]) {
    const answer = await rawRequest(gw.port, `GET /x HTTP/1.1\r\nHost: gw.test\r\n${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`)
    t.same(answer.statuses, [401], JSON.stringify(lines))
  }
  t.equal(b.hits.length, 0, 'none reached the backend')
  const kept = await send(['X-Api-Key:', 'X-Api-Key: k'])
  t.same(kept.statuses, [200], 'one non-empty element is a value')
  t.equal(b.hits.length, 1)
})
