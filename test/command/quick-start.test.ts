import t from 'tap'
import { ROOT, readmeBlock } from '../readme'
import { launch } from './launch'

// The README's quick start, as written, less its `npm install` (the suite runs with the
// dependencies installed, and installing here would change node_modules under other tests).
// DEMO_FREE_PORTS=1 and PORT=0 move the demo off its fixed ports; DEMO_EXIT=1 ends it after its tour.
t.test('Quick start: npm run demo starts the backends and Gatehouse, and shows who answered', async t => {
  const steps = readmeBlock('Quick start', 'sh').trim().split(/\s*&&\s*/)
  t.equal(steps[0], 'npm install')
  const rest = steps.slice(1).join(' && ')
  t.equal(rest, 'npm run demo')
  const demo = launch(t, 'sh', ['-c', rest], { cwd: ROOT, env: { PORT: '0', DEMO_EXIT: '1', DEMO_FREE_PORTS: '1' } })
  t.same(await demo.exited, { code: 0, signal: null }, demo.output())
  const out = demo.output()
  t.match(out, /Gatehouse is listening on http:\/\/127\.0\.0\.1:\d+/)
  t.match(out, /GET \/api\/hello — who answered/)
  for (const name of ['api-1', 'api-2', 'api-3']) t.match(out, new RegExp(`\\s+\\d+\\s+200\\s+${name}\\s+/hello`), `${name} answered`)
  t.match(out, /x-request-id: [0-9a-f-]{36}/, 'and a generated x-request-id')
})
