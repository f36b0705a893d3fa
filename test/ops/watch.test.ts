import t from 'tap'
import Fastify from 'fastify'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import gatehouse from '../../app'
import { startBackend } from '../helper'
import { waitFor } from '../wait'

t.test('"watch": true reloads when the file changes, once per burst of writes, and refuses a broken save', async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-watch-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'gatehouse.json')
  const config = (servers: string[]) => JSON.stringify({
    watch: true,
    upstreams: { u: { servers: servers.map(url => ({ url })) } },
    routes: [{ match: { path: '/*' }, upstream: 'u' }]
  })
  writeFileSync(file, config([a.url]))

  const logs: Array<Record<string, any>> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { logs.push(JSON.parse(line)) } } } })
  await app.register(gatehouse.gatehouseFromFile, { configFile: file })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const reloads = () => logs.filter(l => l.msg === 'config reloaded' && l.trigger === 'watch').length

  // Three writes in a row, as an editor saves: one reload.
  writeFileSync(file, config([a.url]))
  writeFileSync(file, '{')
  writeFileSync(file, config([a.url, b.url]))
  await waitFor(() => app.gatehouse.registry.get('u')?.backends.all().length === 2, { what: 'b added by the watch' })
  t.equal(reloads(), 1, 'one reload for the burst')

  writeFileSync(file, '{ "upstreams": ')
  await waitFor(() => logs.some(l => l.msg.startsWith('config reload refused') && l.trigger === 'watch'), { what: 'the broken save refused' })
  t.equal(app.gatehouse.registry.get('u')?.backends.all().length, 2, 'the previous config keeps serving')
})
