import t from 'tap'
import { join } from 'node:path'
import { startStandalone, writeConfig } from './process'
import { launch } from '../command/launch'
import { ROOT } from '../readme'

const BAD = {
  upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }, { url: 'gopher://x', wieght: 2 }] } },
  routes: [{ match: { path: '/*' }, upstream: 'api' }, { match: { path: '/x' }, upstream: 'nope' }]
}
// Schema errors and the cross-check (an unknown upstream) in one run, and nothing else.
const EXPECTED = [
  'Invalid Gatehouse config:',
  '  upstreams.api.servers[1].wieght: unknown key (check its spelling)',
  '  upstreams.api.servers[1].url: must be an http:// or https:// origin such as "http://127.0.0.1:9001" (got "gopher://x")',
  '  routes[1].upstream: unknown upstream "nope" (known: "api")',
  ''
].join('\n')

t.test('a bad config file under fastify start: exit 1 with exactly the one-line-per-problem block', async t => {
  const started = Date.now()
  const gw = await startStandalone(t, writeConfig(BAD), { waitListening: false })
  const { code } = await gw.exited
  t.equal(code, 1)
  t.ok(Date.now() - started < 10_000, 'within seconds')
  t.equal(gw.stderr(), EXPECTED, 'no stack, no avvio frames, no statusCode')
  t.same(gw.logs, [], 'nothing on stdout')
})

t.test('the gatehouse command prints the same block and exits 1', async t => {
  const gw = launch(t, process.execPath, [join(ROOT, 'dist', 'bin', 'gatehouse.js'), writeConfig(BAD)])
  const { code } = await gw.exited
  t.equal(code, 1)
  t.equal(gw.stderr(), EXPECTED)
})

t.test('a config file that is not JSON is refused with its name, line and column', async t => {
  const file = writeConfig('{\n  "upstreams": {\n    "a": 1,\n  }\n}')
  const gw = await startStandalone(t, file, { waitListening: false })
  const { code } = await gw.exited
  t.equal(code, 1)
  t.equal(gw.stderr(), `Invalid Gatehouse config:\n  ${file} is not valid JSON: line 4, column 3: Expected double-quoted property name\n`)
})
