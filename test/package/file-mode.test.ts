import t from 'tap'
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import gatehouse from '../../app'
import { writeConfig } from '../standalone/process'
import { startBackend, call } from '../helper'

// File mode: no config key in the options. fastify-cli's `-o` hands the server options it
// loaded to the plugin as well; they are not config and must not be taken for one.
async function listen (t: Parameters<typeof startBackend>[0], register: (app: ReturnType<typeof Fastify>) => void) {
  const app = Fastify({ logger: false })
  register(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const configWith = (url: string) => ({ upstreams: { u: { servers: [{ url }] } }, routes: [{ match: { path: '/*' }, upstream: 'u' }] })

t.test('options with no config key (server options from fastify-cli -o) are ignored: the file GATEHOUSE_CONFIG names serves', async t => {
  const b = await startBackend(t, 'b')
  const saved = process.env.GATEHOUSE_CONFIG
  process.env.GATEHOUSE_CONFIG = writeConfig(configWith(b.url))
  t.teardown(() => { process.env.GATEHOUSE_CONFIG = saved })
  const serverOptions = { logger: { level: 'info' }, trustProxy: true, bodyLimit: 1024, pluginTimeout: 10_000 }
  const url = await listen(t, app => app.register(gatehouse as any, serverOptions))
  const res = await call(`${url}/x`)
  t.equal(res.headers['x-backend'], 'b')
})

t.test('gatehouseFromFile reads the file it is given', async t => {
  const b = await startBackend(t, 'b')
  const url = await listen(t, app => app.register(gatehouse.gatehouseFromFile, { configFile: writeConfig(configWith(b.url)) }))
  t.equal((await call(`${url}/x`)).headers['x-backend'], 'b')
})

t.test('options with a config key are the config, validated whole: a stray key is refused', async t => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.register(gatehouse, { ...configWith('http://127.0.0.1:9'), trustProxy: true } as any)
  await t.rejects(async () => { await app.ready() }, /trustProxy: unknown key/)
})
