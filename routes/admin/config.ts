import type { FastifyInstance } from 'fastify'
import type { Gatehouse } from '../../lib/upstreams/gatehouse'
import { exportConfig } from '../../lib/config/export'

export interface ConfigRouteOptions {
  gatehouse: Gatehouse
}

/** GET /config: the effective config, runtime changes included, secrets redacted (lib/config/export.ts). */
export default async function config (admin: FastifyInstance, opts: ConfigRouteOptions) {
  admin.get('/config', async () => exportConfig(opts.gatehouse.config, opts.gatehouse.registry.all().map(u => u.options)))
}
