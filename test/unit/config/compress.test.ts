import t from 'tap'
import { messageOf } from './message-of'
import { normalizeConfig } from '../../../lib/config'
import { routeCompress } from '../../../lib/config/normalize/compress'
import { routeTableChanged } from '../../../lib/http/route-table'

const base = (): any => ({
  upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] }, web: { servers: [{ url: 'http://127.0.0.1:9002' }] } },
  routes: [
    { match: { path: '/a/*' }, upstream: 'api' },
    { match: { path: '/b/*' }, upstream: 'api' },
    { match: { path: '/c/*' }, upstream: 'web' }
  ]
})

t.test('bad compress settings fail at start, each named by its path', async t => {
  const cases: Array<[string, (c: any) => void, RegExp]> = [
    ['unknown coding', c => { c.compress = { encodings: ['zstd'] } }, /^ {2}compress\.encodings\[0\]: must be one of "br", "gzip", "deflate" \(got "zstd"\)$/m],
    ['duplicate coding', c => { c.compress = { encodings: ['br', 'gzip', 'br'] } }, /^ {2}compress\.encodings\[2\]: "br" is already listed at compress\.encodings\[0\]$/m],
    ['no coding', c => { c.compress = { encodings: [] } }, /^ {2}compress\.encodings: must name at least one of "br", "gzip", "deflate"$/m],
    ['coding not a string', c => { c.compress = { encodings: [5] } }, /^ {2}compress\.encodings\[0\]: must be string$/m],
    ['negative threshold on a route', c => { c.routes[1].compress = { threshold: -1 } }, /^ {2}routes\[1\]\.compress\.threshold: must be a size/m],
    ['threshold with a space', c => { c.compress = { threshold: '1 KB' } }, /^ {2}compress\.threshold: must be a size: .* \(got "1 KB"\)$/m],
    ['unknown key on an upstream', c => { c.upstreams.web.compress = { level: 9 } }, /^ {2}upstreams\.web\.compress\.level: unknown key/m],
    ['true', c => { c.routes[0].compress = true }, /^ {2}routes\[0\]\.compress: must be false, or an object with any of threshold, encodings and types \(got true\)$/m],
    ['bad media type', c => { c.compress = { types: ['text/html; charset=utf-8'] } }, /^ {2}compress\.types\[0\]: must be a media type such as "text\/html" or "text\/\*", without parameters/m],
    ['bad coding on an upstream', c => { c.upstreams.api.compress = { encodings: ['gzip', 'lz4'] } }, /^ {2}upstreams\.api\.compress\.encodings\[1\]: must be one of/m]
  ]
  for (const [name, mutate, expected] of cases) {
    const c = base()
    mutate(c)
    const message = messageOf(c)
    t.match(message, expected, name)
    t.equal(message.split('\n').length, 2, `${name}: one problem, one line`)
  }
})

t.test('route over upstream over top level, key by key; false turns it off', async t => {
  const c = base()
  c.compress = { threshold: '2KB', encodings: ['gzip'] }
  c.upstreams.web.compress = false
  c.routes[1].compress = { threshold: 10 }
  const config = normalizeConfig(c, { env: {} })
  t.same(routeCompress(config, config.routes[0]), { threshold: 2048, encodings: ['gzip'] }, 'the top level\'s')
  t.same(routeCompress(config, config.routes[1]), { threshold: 10, encodings: ['gzip'] }, 'the route\'s threshold, the top\'s encodings')
  t.equal(routeCompress(config, config.routes[2]), undefined, 'off on the upstream')

  const d = base()
  d.upstreams.api.compress = { types: ['TEXT/HTML'] }
  d.routes[1].compress = false
  d.routes[2].compress = {}
  const on = normalizeConfig(d, { env: {} })
  t.same(routeCompress(on, on.routes[0]), { threshold: 1024, encodings: ['br', 'gzip'], types: ['text/html'] }, 'the upstream turns it on, with defaults, types lower-cased')
  t.equal(routeCompress(on, on.routes[1]), undefined, 'false on the route wins')
  t.same(routeCompress(on, on.routes[2]), { threshold: 1024, encodings: ['br', 'gzip'] }, '{} on a route: the defaults')

  const off = normalizeConfig(base(), { env: {} })
  t.equal(off.compress, undefined, 'off by default')
  t.ok(off.routes.every(r => routeCompress(off, r) === undefined))
  const top = base()
  top.compress = false
  t.equal(normalizeConfig(top, { env: {} }).compress, undefined, 'false at the top: the same as none')
})

t.test('the cache\'s false-or-object union reports an unknown key by its path too', async t => {
  const c = base()
  c.routes[2].cache = { maxEntrySzie: '1MB' }
  const message = messageOf(c)
  t.match(message, /^ {2}routes\[2\]\.cache\.maxEntrySzie: unknown key \(check its spelling\)$/m)
  t.equal(message.split('\n').length, 2, 'and nothing else')
})

t.test('a route\'s compress settings are part of the route table: a reload that changes them asks for a restart', async t => {
  const a = base()
  const b = base()
  b.routes[0].compress = { threshold: 10 }
  const c = base()
  c.compress = {}
  t.ok(routeTableChanged(normalizeConfig(a, { env: {} }).routes, normalizeConfig(b, { env: {} }).routes))
  t.notOk(routeTableChanged(normalizeConfig(a, { env: {} }).routes, normalizeConfig(c, { env: {} }).routes), 'the top level\'s is not (fixed at start, as the cache\'s)')
})
