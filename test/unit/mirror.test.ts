import t from 'tap'
import { PassThrough } from 'node:stream'
import type { Dispatcher } from 'undici'
import { normalizeConfig } from '../../lib/config'
import { Upstream } from '../../lib/upstreams/upstream'
import { Mirror, type MirrorSource } from '../../lib/mirror/mirror'
import { mirrorCounts, mirrorCountsOf } from '../../lib/mirror/counts'
import { markHeldWhole } from '../../lib/http/body-kind'
import { QUEUE_TIMEOUT_CODE } from '../../lib/proxy/origin-pools'

type Callback = (err: Error | null, data: Dispatcher.ResponseData) => void

function setup (mirror: { percent?: number, maxBodySize?: number, maxInFlight?: number } = {}, random = () => 0) {
  const config = normalizeConfig({
    upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] }, shadow: { servers: [{ url: 'http://127.0.0.1:9002' }], passive: { maxFails: 1, maxEjectionPercent: 100 } } },
    routes: [{ match: { path: '/*' }, upstream: 'api', mirror: { upstream: 'shadow', ...mirror } }]
  }, { env: {} })
  const shadow = new Upstream(config.upstreams.get('shadow')!)
  const sent: Array<{ opts: Dispatcher.RequestOptions, cb: Callback }> = []
  const pools = { request (opts: Dispatcher.RequestOptions, cb: Callback) { sent.push({ opts, cb }) } }
  const copies = new Mirror(config.routes[0].mirror!, { get: name => name === 'shadow' ? shadow : undefined }, pools, random)
  return { shadow, sent, pools, copies, counts: mirrorCounts(shadow) }
}

function request (over: Partial<MirrorSource> = {}): MirrorSource {
  return { method: 'POST', url: '/x', ip: '10.0.0.1', protocol: 'http', requestId: 'r1', headers: { host: 'a.example', 'content-length': '3' }, body: Buffer.from('abc'), ...over }
}

t.test('percent is a share of random draws: below it copies, at it or above does not', async t => {
  let draw = 0
  const { copies, sent } = setup({ percent: 10 }, () => draw)
  draw = 0.0999
  copies.offer(request(), '/x')
  draw = 0.1
  copies.offer(request(), '/x')
  t.equal(sent.length, 1)
})

t.test('bodies: held ones copied up to maxBodySize, held-whole streams from their bytes, other streams skipped', async t => {
  const { copies, sent, counts } = setup({ maxBodySize: 3 })
  copies.offer(request(), '/a')
  copies.offer(request({ body: Buffer.from('abcd') }), '/b')
  const whole = new PassThrough()
  markHeldWhole(whole, Buffer.from('xyz'))
  copies.offer(request({ body: whole }), '/c')
  copies.offer(request({ body: new PassThrough() }), '/d')
  copies.offer(request({ method: 'GET', body: new PassThrough() }), '/e')
  t.same(sent.map(s => s.opts.path), ['/a', '/c', '/e'])
  t.same(sent[1].opts.body, Buffer.from('xyz'))
  t.equal(sent[2].opts.body, undefined, 'a GET carries no body')
  t.equal(counts.skipped, 2)
})

t.test('maxInFlight: copies past it are dropped until one ends', async t => {
  const { copies, sent, counts, shadow } = setup({ maxInFlight: 2 })
  for (let i = 0; i < 4; i++) copies.offer(request(), '/x')
  t.equal(sent.length, 2)
  t.equal(counts.dropped, 2)
  t.equal(copies.pending, 2)
  const body = new PassThrough()
  sent[0].cb(null, { statusCode: 500, headers: {}, body } as unknown as Dispatcher.ResponseData)
  body.end('whatever')
  await new Promise(resolve => body.once('close', resolve))
  t.equal(copies.pending, 1, 'an answer read to its end frees its slot')
  t.equal(counts.answered, 1, 'any status is an answer')
  t.equal(shadow.backends.all()[0].inflight, 1)
})

t.test('failures: a refused copy ejects the mirror server; a queue timeout or a request undici refuses does not', async t => {
  const { copies, sent, counts, shadow } = setup()
  const server = shadow.backends.all()[0]
  copies.offer(request(), '/x')
  sent[0].cb(Object.assign(new Error('busy'), { code: QUEUE_TIMEOUT_CODE }), undefined as never)
  t.equal(shadow.queueTimeouts, 1)
  copies.offer(request(), '/x')
  sent[1].cb(Object.assign(new Error('bad header'), { code: 'UND_ERR_INVALID_ARG' }), undefined as never)
  t.equal(server.failedAttempts, 0, 'neither charged to the server')
  copies.offer(request(), '/x')
  sent[2].cb(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), undefined as never)
  t.equal(server.failedAttempts, 1)
  t.equal(shadow.select(request()), undefined, 'ejected from the mirror group')
  copies.offer(request(), '/x')
  t.same({ ...counts }, { sent: 3, answered: 0, failed: 3, dropped: 1, skipped: 0 }, 'no server left: dropped')
  t.equal(copies.pending, 0)
  t.equal(server.inflight, 0)
})

t.test('pools that throw are caught: the copy fails, the caller never sees it', async t => {
  const { shadow } = setup()
  const config = normalizeConfig({
    upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] }, shadow: { servers: [{ url: 'http://127.0.0.1:9002' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', mirror: { upstream: 'shadow' } }]
  }, { env: {} })
  const copies = new Mirror(config.routes[0].mirror!, { get: () => shadow }, { request () { throw new Error('boom') } })
  t.doesNotThrow(() => copies.offer(request(), '/x'))
  t.equal(mirrorCountsOf(shadow)?.failed, 1)
  t.equal(copies.pending, 0)
})

t.test('a group removed since the routes were declared: nothing sent, nothing counted', async t => {
  const { sent } = setup()
  const config = normalizeConfig({
    upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] }, shadow: { servers: [{ url: 'http://127.0.0.1:9002' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api', mirror: { upstream: 'shadow' } }]
  }, { env: {} })
  const copies = new Mirror(config.routes[0].mirror!, { get: () => undefined }, { request () { throw new Error('not called') } })
  copies.offer(request(), '/x')
  t.equal(sent.length, 0)
})
