import type { FastifyInstance } from 'fastify'
import type { NormalizedConfig } from '../../lib/config/types'

/**
 * `tls.rejectUnauthorized: false` on an upstream is allowed (a lab, a backend mid-migration) but
 * turns off what makes https to a backend worth having: anyone on the path may answer as the
 * backend. So it is said at every start, once per upstream, so that a setting left over
 * from a test cannot go unnoticed.
 */
export default async function insecureUpstreams (fastify: FastifyInstance, { config }: { config: NormalizedConfig }) {
  for (const upstream of config.upstreams.values()) {
    if (upstream.tls?.rejectUnauthorized !== false) continue
    fastify.log.warn({ upstream: upstream.name }, 'tls.rejectUnauthorized is false: the servers\' certificates are not verified')
  }
}
