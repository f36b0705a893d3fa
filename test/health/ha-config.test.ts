import t from 'tap'
import { normalizeConfig } from '../../lib/config'
import { DEFAULT_MAX_EJECTION_PERCENT, DEFAULT_SLOW_START } from '../../lib/config/defaults'

function problems (upstream: Record<string, unknown>): string {
  try {
    normalizeConfig({ upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9001' }], ...upstream } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }, { env: {} })
  } catch (err) {
    return (err as Error).message
  }
  return 'no error'
}

t.test('the ejection limit and slow start: defaults, and errors by JSON path', async t => {
  const config = normalizeConfig({ upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9001' }] } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }, { env: {} })
  const u = config.upstreams.get('u')!
  t.equal(u.passive.maxEjectionPercent, DEFAULT_MAX_EJECTION_PERCENT)
  t.equal(DEFAULT_MAX_EJECTION_PERCENT, 50)
  t.equal(u.slowStart, DEFAULT_SLOW_START)
  t.equal(DEFAULT_SLOW_START, 0, 'slow start is off unless asked for')
  t.equal(u.servers[0].slowStart, undefined, 'a server without its own follows the group')

  t.match(problems({ passive: { maxEjectionPercent: 101 } }), 'upstreams.u.passive.maxEjectionPercent')
  t.match(problems({ passive: { maxEjectionPercent: 12.5 } }), 'upstreams.u.passive.maxEjectionPercent')
  t.match(problems({ slowStart: 'soon' }), 'upstreams.u.slowStart')
  t.match(problems({ slowStart: '30d' }), 'upstreams.u.slowStart: must be between 1 ms and')
  t.match(problems({ servers: [{ url: 'http://127.0.0.1:9001', slowStart: -1 }] }), 'upstreams.u.servers[0].slowStart')
  t.match(problems({ servers: [{ url: 'http://127.0.0.1:9001', slowStart: '30d' }] }), 'upstreams.u.servers[0].slowStart: must be between 1 ms and')
  t.equal(problems({ slowStart: '30s', passive: { maxEjectionPercent: 0 }, servers: [{ url: 'http://127.0.0.1:9001', slowStart: 0 }] }), 'no error')
})
