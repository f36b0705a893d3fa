// Compiled by `npm run typecheck`, never run. Each @ts-expect-error line must be a type error:
// if one ever compiles, the directive itself is reported and the typecheck fails.
import Fastify, { type FastifyPluginAsync } from 'fastify'
import gatehouse, { type GatehouseConfig } from '../../app'

// The plugin is a FastifyPluginAsync of a whole config.
export const typed: FastifyPluginAsync<GatehouseConfig> = gatehouse

const app = Fastify()

// A whole config compiles.
app.register(gatehouse, {
  upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] } },
  routes: [{ match: { path: '/*' }, upstream: 'api' }]
})

// Fastify's own plugin options go with it.
app.register(gatehouse, {
  prefix: '/gw',
  upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] } },
  routes: [{ match: { path: '/*' }, upstream: 'api', stripPrefix: '/api' }]
})

// @ts-expect-error a config without routes is what the schema would refuse at start
app.register(gatehouse, { upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] } } })

// @ts-expect-error nor without upstreams
app.register(gatehouse, { routes: [{ match: { path: '/*' }, upstream: 'api' }] })

// @ts-expect-error no options at all is file mode, which has its own plugin
app.register(gatehouse)

// File mode, typed: the file and nothing else.
app.register(gatehouse.gatehouseFromFile, { configFile: './gatehouse.json' })
app.register(gatehouse.gatehouseFromFile)

// @ts-expect-error a typo in a key of the file-mode options
app.register(gatehouse.gatehouseFromFile, { configFlie: './gatehouse.json' })
