import t from 'tap'
import { startStandalone, writeConfig } from './process'

t.test('a bad config file: the process exits non-zero by itself, naming each bad field', async t => {
  const file = writeConfig({
    upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }, { url: 'gopher://x' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }, { match: { path: '/x' }, upstream: 'nope' }]
  })
  const started = Date.now()
  const gw = await startStandalone(t, file, { waitListening: false })
  const { code } = await gw.exited
  t.not(code, 0)
  t.ok(Date.now() - started < 10_000, 'within seconds')
  const output = gw.stderr() + JSON.stringify(gw.logs)
  t.match(output, /upstreams\.api\.servers\[1\]\.url/)
})

t.test('a config file that is not JSON is refused with its name', async t => {
  const file = writeConfig('{ "upstreams": ')
  const gw = await startStandalone(t, file, { waitListening: false })
  const { code } = await gw.exited
  t.not(code, 0)
  t.match(gw.stderr() + JSON.stringify(gw.logs), /is not valid JSON/)
})
