import t from 'tap'
import { startBackend, startGateway, call } from '../helper'
import { admin, TOKEN } from './admin-client'
import type { GatehouseConfig } from '../../lib/config'

/** The series (name and labels) of a metrics text matching `name`, without their values. */
const seriesOf = (text: string, name: RegExp) => text.split('\n').filter(l => name.test(l)).map(l => l.replace(/ [^ ]+$/, '')).sort()
const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find(l => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}
const ROUTED = /^gatehouse_(requests_total|request_duration_seconds_(bucket|sum|count))\{/

t.test('requests and their latency by route: a named route by its name, an unnamed one by its index', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  b.handle((req, res) => { req.resume(); res.statusCode = 503; res.end() })
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: { ua: { servers: [{ url: a.url }] }, ub: { servers: [{ url: b.url }], passive: { maxFails: 0 } } },
    routes: [
      { name: 'orders', match: { path: '/orders/*' }, upstream: 'ua' },
      { match: { path: '/users/*' }, upstream: 'ua' },
      { name: 'broken', match: { path: '/b/*' }, upstream: 'ub' }
    ]
  })
  for (let i = 0; i < 3; i++) await call(`${gw.url}/orders/${i}`)
  await call(`${gw.url}/users/1`)
  await call(`${gw.url}/b/1`)
  const text = (await admin(gw.app.gatehouse.adminUrl as string, 'GET', '/metrics', { token: TOKEN })).body
  t.equal(value(text, 'gatehouse_requests_total{upstream="ua",route="orders",status="2xx"}'), 3)
  t.equal(value(text, 'gatehouse_requests_total{upstream="ua",route="1",status="2xx"}'), 1, 'the unnamed route by its index')
  t.equal(value(text, 'gatehouse_requests_total{upstream="ub",route="broken",status="5xx"}'), 1)
  t.equal(value(text, 'gatehouse_requests_total{upstream="ub",route="broken",status="2xx"}'), 0, 'every status class of a route is there from the start')
  t.equal(value(text, 'gatehouse_request_duration_seconds_count{upstream="ua",route="orders"}'), 3)
  t.equal(value(text, 'gatehouse_request_duration_seconds_bucket{upstream="ua",route="1",le="+Inf"}'), 1)
  // Summed over routes, the per-upstream figures are those of before.
  const sum = text.split('\n').filter(l => l.startsWith('gatehouse_requests_total{upstream="ua"') && l.includes('status="2xx"')).reduce((n, l) => n + Number(l.split(' ')[1]), 0)
  t.equal(sum, 4, 'sum without (route) is the group\'s count')
  t.equal(seriesOf(text, ROUTED).length, 3 * (5 + 15 + 2), 'one set of series per route and group: 5 status classes, 15 buckets, sum and count')
})

t.test('a reload that renames routes and drops a group: the series stay bounded', async t => {
  const a = await startBackend(t, 'a')
  const config = (names: [string, string], withSecond: boolean): GatehouseConfig => ({
    admin: { port: 0, token: TOKEN },
    upstreams: { ua: { servers: [{ url: a.url }] }, ...(withSecond && { ub: { servers: [{ url: a.url }] } }) },
    routes: [
      { name: names[0], match: { path: '/a/*' }, upstream: 'ua' },
      { name: names[1], match: { path: '/b/*' }, upstream: withSecond ? 'ub' : 'ua' }
    ]
  })
  const gw = await startGateway(t, config(['one', 'two'], true))
  const url = gw.app.gatehouse.adminUrl as string
  const scrape = async () => (await admin(url, 'GET', '/metrics', { token: TOKEN })).body
  await call(`${gw.url}/a/x`)
  await call(`${gw.url}/b/x`)
  const before = seriesOf(await scrape(), ROUTED)
  t.equal(before.length, 2 * 22)

  for (let i = 0; i < 3; i++) {
    const summary = gw.app.gatehouse.reload(config([`one-${i}`, `two-${i}`], true))
    t.equal(summary.routesChanged, true, 'renamed routes are a route change, applied at the next start')
    await call(`${gw.url}/a/x`)
    t.same(seriesOf(await scrape(), ROUTED), before, `reload ${i}: the same series, under the names of the routes in force`)
  }

  gw.app.gatehouse.reload(config(['one', 'two'], false))
  const after = await scrape()
  t.same(seriesOf(after, ROUTED), before.filter(s => !s.includes('upstream="ub"')), 'a group gone takes its series with it')
  t.equal(seriesOf(after, /^gatehouse_requests_total\{upstream="ub"/).length, 0)
})

t.test('route names: unique, and never digits alone', async t => {
  const a = await startBackend(t, 'a')
  const base = (routes: GatehouseConfig['routes']): GatehouseConfig => ({ upstreams: { u: { servers: [{ url: a.url }] } }, routes })
  await t.rejects(startGateway(t, base([{ name: 'x', match: { path: '/a' }, upstream: 'u' }, { name: 'x', match: { path: '/b' }, upstream: 'u' }])), /routes\[1\]\.name: "x" is already the name of routes\[0\]/)
  await t.rejects(startGateway(t, base([{ name: '1', match: { path: '/a' }, upstream: 'u' }])), /routes\[0\]\.name/)
  await t.rejects(startGateway(t, base([{ name: 'with space', match: { path: '/a' }, upstream: 'u' }])), /routes\[0\]\.name/)
  const gw = await startGateway(t, base([{ name: 'api.v2:read', match: { path: '/a' }, upstream: 'u' }]))
  t.equal(gw.app.gatehouse.config.routes[0].name, 'api.v2:read')
})
