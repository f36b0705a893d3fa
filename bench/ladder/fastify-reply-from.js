// Ladder step 2 (where the CPU per request goes, one layer at a time): step 1 with @fastify/reply-from doing the forwarding, on the same
// undici pools (an object with request() picking the pool by origin, as lib/proxy/origin-pools.ts),
// getUpstream round robin, no other hooks: what reply-from adds over Pool.request.
const Fastify = require('fastify')
const replyFrom = require('@fastify/reply-from')
const { Pool } = require('undici')
const origins = [19001, 19002, 19003].map(p => `http://127.0.0.1:${p}`)
const pools = new Map(origins.map(o => [o, new Pool(o, { connections: 128, pipelining: 1 })]))
const dispatcher = { request (opts, cb) { return pools.get(String(opts.origin)).request(opts, cb) } }
let i = 0
const app = Fastify({ logger: { level: 'warn' } })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (req, payload, done) => done(null, payload))
app.register(replyFrom, { undici: dispatcher, disableRequestLogging: true })
const upstream = () => origins[i++ % origins.length]
app.route({
  method: ['GET', 'POST'],
  url: '/*',
  exposeHeadRoute: false,
  handler (request, reply) {
    reply.from(request.url, { getUpstream: upstream })
    return reply
  }
})
app.listen({ port: 18000, host: '127.0.0.1' })
