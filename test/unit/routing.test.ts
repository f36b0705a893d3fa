import t from 'tap'
import Fastify from 'fastify'
import { MATCH_CONSTRAINT, matchStrategy } from '../../lib/routing/match-strategy'
import { SplitTable, WeightedSplit, withShares } from '../../lib/routing/split-table'
import { bySpecificity, compileMatch, RequestView } from '../../lib/routing/match-conditions'
import { normalizeConfig, type GatewayRoute } from '../../lib/config'

t.test('a weighted split gives each group the share of [0, 1) its weight says; a weight of 0 none', async t => {
  const split = new WeightedSplit([{ name: 'v1', weight: 95 }, { name: 'off', weight: 0 }, { name: 'v2', weight: 5 }])
  const at = (r: number) => split.choose(() => r)
  t.equal(at(0), 'v1')
  t.equal(at(0.9499), 'v1')
  t.equal(at(0.95), 'v2')
  t.equal(at(0.9999999), 'v2')
  // Every one of 1 000 evenly spaced draws: exactly 950 and 50, never the group at 0.
  const got: Record<string, number> = {}
  for (let i = 0; i < 1000; i++) { const g = at(i / 1000); got[g] = (got[g] ?? 0) + 1 }
  t.same(got, { v1: 950, v2: 50 })
  split.set({ v1: 0, off: 1, v2: 0 })
  t.equal(at(0.5), 'off')
  t.throws(() => split.set({ off: 0, v2: 0 }), /above 0/)
})

t.test('a reload changes the weights of the routes whose groups are the same, and says so', async t => {
  const routes = (w: [number, number], names: [string, string] = ['a', 'b']): GatewayRoute[] => [
    { index: 0, path: '/', upstream: names[0], grpcWeb: false, split: [{ name: names[0], weight: w[0] }, { name: names[1], weight: w[1] }] }
  ]
  const table = new SplitTable(routes([1, 1]))
  const changes: unknown[] = []
  table.on('change', c => changes.push(c))
  const out = table.reload(routes([1, 1]), routes([3, 1]))
  t.same(out[0].split, [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }])
  t.match(changes, [{ route: 0, by: 'reload', before: [{ weight: 1 }, { weight: 1 }], after: [{ weight: 3 }, { weight: 1 }] }])
  table.reload(routes([1, 1]), routes([9, 9], ['a', 'c']))
  t.same(table.get(0)?.list(), [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }], 'other groups: a route change, for a restart')
  t.same(withShares([{ name: 'a', weight: 1 }, { name: 'b', weight: 2 }]), [{ name: 'a', weight: 1, percent: 33.33 }, { name: 'b', weight: 2, percent: 66.67 }])
})

t.test('specificity of match conditions', async t => {
  const config = normalizeConfig({
    upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9' }] } },
    routes: [
      { match: { path: '/', headers: { a: { present: true } } }, upstream: 'u' },
      { match: { path: '/', headers: { a: { regex: 'x' } } }, upstream: 'u' },
      { match: { path: '/', headers: { a: 'x' } }, upstream: 'u' },
      { match: { path: '/', host: '*.example.com', headers: { a: { present: true } } }, upstream: 'u' },
      { match: { path: '/', host: 'api.example.com', headers: { a: { present: true } } }, upstream: 'u' },
      { match: { path: '/', headers: { b: 'x' } }, upstream: 'u' }
    ]
  })
  const specs = config.routes.map(r => compileMatch(r)!)
  t.same([...specs].sort(bySpecificity).map(s => s.index), [4, 3, 2, 5, 1, 0])
  const view = new RequestView({ host: 'www.example.com', a: 'x', cookie: 'c=1; d=%20' }, '/?q=1&q=2')
  t.ok(specs[3].test(view))
  t.notOk(specs[4].test(view))
  t.equal(view.cookie('d'), ' ', 'cookie values decoded')
  t.same(view.param('q'), ['1', '2'])
  t.equal(view.param('toString'), undefined, 'no prototype names')
  t.equal(view.cookie('constructor'), undefined)
})

t.test('the router derives the match value per request but tests conditions only at paths that have them', async t => {
  let derived = 0
  let tested = 0
  const counted = {
    ...matchStrategy,
    storage () {
      const inner = matchStrategy.storage()
      return { get: (v: any) => { if ('headers' in v) tested++; return inner.get(v) }, set: inner.set }
    },
    deriveConstraint (req: any) { derived++; return matchStrategy.deriveConstraint(req) }
  }
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.addConstraintStrategy(counted as never)
  const [route] = normalizeConfig({ upstreams: { u: { servers: [{ url: 'http://127.0.0.1:9' }] } }, routes: [{ match: { path: '/m', headers: { 'x-a': '1' } }, upstream: 'u' }] }).routes
  app.get('/plain', async () => 'plain')
  app.get('/m', async () => 'any')
  app.get('/m', { constraints: { [MATCH_CONSTRAINT]: compileMatch(route) } }, async () => 'matched')
  t.equal((await app.inject('/plain')).body, 'plain')
  t.same([derived, tested], [1, 0], 'a path without conditions: one derived value (the request itself), no condition tested')
  t.equal((await app.inject({ url: '/m', headers: { 'x-a': '1' } })).body, 'matched')
  t.equal((await app.inject('/m')).body, 'any')
  t.same([derived, tested], [3, 2], 'the path with conditions tests them')
})
