import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RouteOptions } from 'fastify'
import { startBackend, startGateway } from '../helper'
import { ROOT } from '../readme'
import { toArray } from '../../lib/to-array'
import type { GatehouseConfig, GatewayRoute } from '../../lib/config'
import { declaredFor, PHASES, PIPELINE, stepOf, steps, type Phase } from '../../plugins/policies/pipeline'

// Every route-level lifecycle hook Fastify knows; the pipeline uses some of them, and a hook
// in any other (preValidation, preSerialization, …) is one the declaration does not name.
const LIFECYCLE = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse', 'onError', 'onTimeout', 'onRequestAbort'] as const
const HASH = '$2b$04$abcdefghijklmnopqrstuuWVZ3m5kqfUMBgRIvGnYBk1n6GXshVz.'

/** A route's hooks per phase, each by the step that placed it, or `?name` when no step did. */
function actual (route: RouteOptions): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const phase of LIFECYCLE) {
    const names = toArray(route[phase] as Array<(...args: unknown[]) => unknown> | undefined).map(fn => stepOf(fn) ?? `?${fn.name}`)
    if (names.length > 0) out[phase] = names
  }
  const handler = stepOf(route.handler)
  if (handler !== undefined) out.handler = [handler]
  return out
}

function declared (route: GatewayRoute, config: Parameters<typeof declaredFor>[1]): Record<string, string[]> {
  const byPhase = declaredFor(route, config)
  return Object.fromEntries(PHASES.filter(p => byPhase[p].length > 0).map(p => [p, byPhase[p]]))
}

async function check (t: Test, name: string, config: (url: string) => GatehouseConfig, expected?: Record<string, Record<string, string[]>>): Promise<void> {
  const b = await startBackend(t, 'b')
  const routes: RouteOptions[] = []
  // The host's onRoute hook runs first and keeps the options object, which Gatehouse's then fill in.
  const gw = await startGateway(t, config(b.url), app => { app.addHook('onRoute', route => { routes.push(route) }) })
  await gw.app.ready()
  const ours = routes.filter(r => r.config?.gatehouse !== undefined)
  t.equal(ours.length, gw.app.gatehouse.config.routes.length, `${name}: every configured route is seen`)
  for (const route of ours) {
    const gatehouse = route.config?.gatehouse as GatewayRoute
    t.same(actual(route), declared(gatehouse, gw.app.gatehouse.config), `${name}: ${gatehouse.path} carries exactly the hooks the pipeline declares for it, in its order`)
    if (expected?.[gatehouse.path] !== undefined) t.same(actual(route), expected[gatehouse.path], `${name}: ${gatehouse.path} as spelled out`)
  }
}

t.test('a route carries only the policy hooks it uses, in the declared order', async t => {
  await check(t, 'no policies', url => ({
    upstreams: { api: { servers: [{ url }] } },
    routes: [
      { match: { path: '/plain/*' }, upstream: 'api' },
      { match: { path: '/old/*' }, redirect: { to: 'https://example.com{path}' } }
    ]
  }), {
    // The sticky hooks hang on every route with an upstream: stickiness is read per request.
    '/plain/*': { preHandler: ['sticky-hint'], onSend: ['sticky-cookie'], onResponse: ['access-log'], onError: ['sticky-failed'] },
    '/old/*': { handler: ['redirect'], onResponse: ['access-log'] }
  })

  await check(t, 'every policy', url => ({
    cookieSecret: 'a-secret-of-at-least-thirty-two-characters',
    rateLimit: { max: 100, timeWindow: '1m' },
    cache: {},
    compress: {},
    upstreams: { api: { sticky: {}, servers: [{ url }] }, shadow: { servers: [{ url }] } },
    routes: [
      { match: { path: '/copied/*' }, upstream: 'api', mirror: { upstream: 'shadow' } },
      { match: { path: '/never-copied/*' }, upstream: 'api', mirror: { upstream: 'shadow', percent: 0 } },
      {
        match: { path: '/all/*' },
        upstream: 'api',
        filters: { allow: ['127.0.0.1'], methods: ['GET'], maxBodySize: 10, requireHeaders: { 'x-k': true }, basicAuth: { users: { a: HASH } } },
        requestHeaders: { set: { 'x-a': '1' } },
        responseHeaders: { set: { 'x-b': '1' } }
      },
      { match: { path: '/own-limit/*' }, upstream: 'api', rateLimit: { max: 1 }, cache: false, compress: false },
      { match: { path: '/unlimited/*' }, upstream: 'api', rateLimit: false, filters: { deny: ['192.0.2.0/24'] } },
      { match: { path: '/moved/*' }, redirect: { to: 'https://example.com{path}' }, rateLimit: false }
    ]
  }), {
    '/all/*': {
      onRequest: ['ip', 'methods', 'declared-size', 'required-headers', 'rate-limit', 'basic-auth'],
      preParsing: ['counted-size'],
      preHandler: ['sticky-hint', 'request-headers', 'cache-lookup'],
      onSend: ['sticky-cookie', 'response-headers', 'compress'],
      onResponse: ['access-log'],
      onError: ['sticky-failed']
    },
    '/copied/*': { onRequest: ['rate-limit'], preHandler: ['sticky-hint', 'cache-lookup', 'mirror'], onSend: ['sticky-cookie', 'compress'], onResponse: ['access-log'], onError: ['sticky-failed'] },
    '/never-copied/*': { onRequest: ['rate-limit'], preHandler: ['sticky-hint', 'cache-lookup'], onSend: ['sticky-cookie', 'compress'], onResponse: ['access-log'], onError: ['sticky-failed'] },
    '/own-limit/*': { onRequest: ['rate-limit'], preHandler: ['sticky-hint'], onSend: ['sticky-cookie'], onResponse: ['access-log'], onError: ['sticky-failed'] }
  })

  await check(t, 'tracing', url => ({
    tracing: { endpoint: 'http://127.0.0.1:9/v1/traces' },
    upstreams: { api: { servers: [{ url }] } },
    routes: [
      { match: { path: '/t/*' }, upstream: 'api', filters: { methods: ['GET'] } },
      { match: { path: '/old/*' }, redirect: { to: 'https://example.com{path}' } }
    ]
  }), {
    '/t/*': { onRequest: ['trace', 'methods'], preHandler: ['sticky-hint'], onSend: ['sticky-cookie'], onResponse: ['access-log'], onError: ['sticky-failed'] },
    '/old/*': { onRequest: ['trace'], handler: ['redirect'], onResponse: ['access-log'] }
  })

  await check(t, 'a cache and compression on one upstream only', url => ({
    upstreams: { a: { servers: [{ url }], cache: {}, compress: {} }, b: { servers: [{ url }] } },
    routes: [{ match: { path: '/a/*' }, upstream: 'a' }, { match: { path: '/b/*' }, upstream: 'b' }]
  }))
})

t.test('a hook that no step placed is seen as foreign', async t => {
  const b = await startBackend(t, 'b')
  const routes: RouteOptions[] = []
  const foreign = function hostCheck (_request: unknown, _reply: unknown, done: () => void) { done() }
  const gw = await startGateway(t, { upstreams: { api: { servers: [{ url: b.url }] } }, routes: [{ match: { path: '/x/*' }, upstream: 'api' }] }, app => {
    app.addHook('onRoute', route => {
      route.preValidation = [foreign]
      routes.push(route)
    })
  })
  await gw.app.ready()
  t.same(actual(routes[0]).preValidation, ['?hostCheck'], 'the comparison above would fail on it')
})

/** The README's table of the pipeline, as rendered from the declaration. */
function tableRows (): string[] {
  return steps().map(({ phase, name, step }) => `| ${phase} | \`${name}\` | ${step.when} | \`plugins/${step.plugin}.ts\` |`)
}

t.test('the README\'s pipeline table is the declaration', async t => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n')
  const at = readme.findIndex(l => l.startsWith('**Order on a route.**'))
  t.not(at, -1, 'the README has the paragraph')
  const start = readme.findIndex((l, i) => i > at && l.startsWith('| phase |'))
  const rows: string[] = []
  for (let i = start + 2; i < readme.length && readme[i].startsWith('|'); i++) rows.push(readme[i])
  t.same(rows, tableRows(), 'one row per step, in the declared order')
})

t.test('the declaration names each phase once, in Fastify\'s lifecycle order', async t => {
  // onError runs when an error is sent, before the error handler's answer goes through onSend.
  const order: Phase[] = ['onRequest', 'preParsing', 'preHandler', 'handler', 'onError', 'onSend', 'onResponse']
  t.same(Object.keys(PIPELINE), order)
})
