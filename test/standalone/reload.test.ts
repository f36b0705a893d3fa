import t from 'tap'
import { writeFileSync } from 'node:fs'
import { startStandalone, writeConfig } from './process'
import { startBackend, call, spread, count } from '../helper'

const configWith = (urls: string[]) => ({
  upstreams: { u: { servers: urls.map(url => ({ url })) } },
  routes: [{ match: { path: '/*' }, upstream: 'u' }]
})

t.test('SIGHUP adds and removes servers; a removed server finishes its in-flight request', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const c = await startBackend(t, 'c')
  let releaseSlow: () => void = () => {}
  const slowArrived = new Promise<void>(resolve => {
    a.handle((req, res) => {
      if (req.url === '/slow') {
        resolve()
        releaseSlow = () => res.end('slow done')
        return
      }
      res.setHeader('x-backend', 'a')
      res.end('a')
    })
  })
  const file = writeConfig(configWith([a.url, b.url]))
  const gw = await startStandalone(t, file)
  t.same(count(await spread(`${gw.url}/`, 4)), { a: 2, b: 2 })

  // A slow request in flight on a, then a reload that removes a and adds c.
  const slow = call(`${gw.url}/slow`)
  await slowArrived
  writeFileSync(file, JSON.stringify(configWith([b.url, c.url])))
  gw.child.kill('SIGHUP')
  const reloaded = await gw.waitForLog(l => l.msg === 'config reloaded')
  t.same(reloaded.serversAdded, [`u/127.0.0.1:${c.port}`])
  t.same(reloaded.serversRemoved, [`u/127.0.0.1:${a.port}`])
  t.ok(reloaded.ms < 200, `applied in ${reloaded.ms} ms`)

  const hitsOnA = a.hits.length
  t.same(count(await spread(`${gw.url}/`, 6)), { b: 3, c: 3 }, 'the new server gets traffic')
  t.equal(a.hits.length, hitsOnA, 'the removed server gets no new requests')
  releaseSlow()
  const res = await slow
  t.equal(res.status, 200, 'the in-flight request on the removed server completed')
  t.equal(res.body, 'slow done')
  t.equal(gw.child.exitCode, null, 'still running: SIGHUP did not close it')
})

t.test('SIGHUP with a broken file keeps the old config', async t => {
  const a = await startBackend(t, 'a')
  const file = writeConfig(configWith([a.url]))
  const gw = await startStandalone(t, file)
  writeFileSync(file, JSON.stringify({ upstreams: { u: { servers: [] } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] }))
  gw.child.kill('SIGHUP')
  const refused = await gw.waitForLog(l => l.msg === 'config reload refused; the previous config keeps serving')
  t.match(refused.error, /upstreams\.u\.servers/)
  writeFileSync(file, '{ not json')
  gw.child.kill('SIGHUP')
  await gw.waitForLog(l => l.msg?.startsWith('config reload refused') && /JSON/.test(l.error))
  const res = await call(`${gw.url}/x`)
  t.equal(res.status, 200)
  t.equal(res.headers['x-backend'], 'a')
})

t.test('SIGHUP that changes the route table logs that a restart is needed', async t => {
  const a = await startBackend(t, 'a')
  const file = writeConfig(configWith([a.url]))
  const gw = await startStandalone(t, file)
  const next = configWith([a.url])
  next.routes.push({ match: { path: '/new/*' }, upstream: 'u' })
  writeFileSync(file, JSON.stringify(next))
  gw.child.kill('SIGHUP')
  const line = await gw.waitForLog(l => l.msg === 'config reloaded')
  t.equal(line.routesChanged, true)
  await gw.waitForLog(l => /restart Gatehouse to apply them/.test(l.msg))
})

t.test('SIGHUP with new weights of a split applies them without a restart', async t => {
  const v1 = await startBackend(t, 'v1')
  const v2 = await startBackend(t, 'v2')
  const splitWith = (weights: [number, number]) => ({
    upstreams: { v1: { servers: [{ url: v1.url }] }, v2: { servers: [{ url: v2.url }] } },
    routes: [{ match: { path: '/*' }, upstream: [{ name: 'v1', weight: weights[0] }, { name: 'v2', weight: weights[1] }] }]
  })
  const file = writeConfig(splitWith([1, 0]))
  const gw = await startStandalone(t, file)
  t.same(count(await spread(`${gw.url}/`, 10)), { v1: 10 })
  writeFileSync(file, JSON.stringify(splitWith([0, 1])))
  gw.child.kill('SIGHUP')
  const line = await gw.waitForLog(l => l.msg === 'config reloaded')
  t.equal(line.routesChanged, false, 'weights are not the route table')
  t.same(count(await spread(`${gw.url}/`, 10)), { v2: 10 }, 'the new weights apply')
})
