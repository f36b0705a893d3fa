import type { FastifyInstance } from 'fastify'
import type { Gatehouse } from '../../lib/upstreams/gatehouse'
import { snapshot } from '../../lib/admin/upstream-snapshot'
import { LATENCY_BUCKETS } from '../../lib/admin/latency-histogram'
import { cookieOf, sameSecret, SESSION_COOKIE } from '../../lib/admin/guard'
import type { AdminSessions } from '../../lib/admin/sessions'
import { checkAttempts, type FailedLogins } from '../../lib/admin/failed-logins'
import { AdminBadRequestError, AdminUnauthorizedError } from '../../lib/errors'
import { dashboardPage } from './dashboard-page'
import { withShares } from '../../lib/routing/split-table'
import { mirrorCountsOf } from '../../lib/mirror/counts'

export interface DashboardRouteOptions {
  gatehouse: Gatehouse
  token: string | undefined
  sessions: AdminSessions
  failures: FailedLogins
}

// How often /events sends a sample: the page's rates and sparklines are computed from these.
const EVENT_PERIOD_MS = 1000

/**
 * The dashboard: one page with no outside resources (dashboard-page.ts), fed by
 * server-sent events. With a token, POST /login sets an httpOnly, SameSite=Strict cookie
 * (the token goes in a JSON body, never in a URL) holding a random session id that expires
 * after admin.sessionTtl and ends on POST /logout; the admin API accepts it as a Bearer header; SameSite=Strict and the JSON body (a preflight another origin cannot pass) keep
 * other sites from driving the API through it.
 */
export default async function dashboard (admin: FastifyInstance, opts: DashboardRouteOptions) {
  const { gatehouse, token, sessions, failures } = opts

  admin.get('/', async (request, reply) => {
    // The session cookie only: a Bearer header here would be a way to test guesses at the
    // token that no failed-attempt limit sees (the page says whether it is signed in).
    const session = cookieOf(request.headers.cookie, SESSION_COOKIE)
    const signedIn = token !== undefined && session !== undefined && sessions.valid(session, token)
    return await reply
      .type('text/html; charset=utf-8')
      // Nothing from elsewhere, nothing in a frame (clickjacking the drain buttons).
      .header('content-security-policy', "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
      .header('x-frame-options', 'DENY')
      .send(dashboardPage({ guarded: token !== undefined, signedIn }))
  })

  admin.post<{ Body: { token?: unknown } }>('/login', async (request, reply) => {
    if (token === undefined) throw new AdminBadRequestError('no admin.token is set')
    checkAttempts(failures, request.ip, reply)
    const given = request.body?.token
    if (typeof given !== 'string' || !sameSecret(given, token)) {
      failures.failed(request.ip)
      throw new AdminUnauthorizedError()
    }
    const maxAge = Math.ceil(sessions.ttl / 1000)
    return await reply
      .header('set-cookie', `${SESSION_COOKIE}=${sessions.start(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`)
      .code(204).send()
  })

  // Ends the session on the server too: a copy of the cookie taken before is worth nothing after.
  admin.post('/logout', async (request, reply) => {
    const session = cookieOf(request.headers.cookie, SESSION_COOKIE)
    if (session !== undefined) sessions.end(session)
    return await reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`).code(204).send()
  })

  admin.get('/events', (request, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
    const send = () => res.write(`data: ${JSON.stringify(sample(gatehouse))}\n\n`)
    send()
    const timer = setInterval(send, EVENT_PERIOD_MS)
    res.on('close', () => clearInterval(timer))
  })
}

/** One sample: the snapshot plus counters the page turns into rates (it keeps the history). */
function sample (gatehouse: Gatehouse) {
  const all = gatehouse.registry.all()
  const upstreams = snapshot(all, Date.now())
  return {
    at: Date.now(),
    buckets: [...LATENCY_BUCKETS, null],
    // The weighted splits in force, by route: empty when no route splits.
    splits: gatehouse.splits.all().map(({ route, split }) => ({ route, path: gatehouse.config.routes[route]?.path, split: withShares(split) })),
    // The copies to each mirror group by outcome, as gatehouse_mirror_requests_total counts them: empty when no route mirrors.
    mirrors: all.flatMap(u => {
      const counts = mirrorCountsOf(u)
      return counts === undefined ? [] : [{ upstream: u.name, ...counts }]
    }),
    upstreams: upstreams.map((u, i) => ({
      ...u,
      requests: Object.values(u.responses).reduce((a, b) => a + b, 0),
      latency: all[i].latency.cumulative(),
      servers: u.servers.map(s => {
        const backend = all[i].backends.get(s.id)
        return { ...s, removing: backend !== undefined && gatehouse.runtime.isRemoving(backend) }
      })
    }))
  }
}
