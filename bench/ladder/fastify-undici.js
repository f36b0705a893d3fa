// Ladder step 1 (where the CPU per request goes, one layer at a time): Fastify (logger at warn, as `fastify start -l warn`) with one `/*`
// route whose handler sends the request on undici Pool.request (round robin over the three
// bench backends) and replies with the response stream. No reply-from, no hooks.
const Fastify = require('fastify')
const { Pool } = require('undici')
const pools = [19001, 19002, 19003].map(p => new Pool(`http://127.0.0.1:${p}`, { connections: 128, pipelining: 1 }))
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])
let i = 0
const app = Fastify({ logger: { level: 'warn' } })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', (req, payload, done) => done(null, payload))
app.route({
  method: ['GET', 'POST'],
  url: '/*',
  exposeHeadRoute: false,
  handler (request, reply) {
    const pool = pools[i++ % pools.length]
    const headers = {}
    const h = request.headers
    for (const k in h) if (!HOP.has(k)) headers[k] = h[k]
    const body = request.method === 'GET' ? null : request.body
    pool.request({ path: request.url, method: request.method, headers, body }, (err, res) => {
      if (err) { reply.code(502).send(err); return }
      const out = {}
      for (const k in res.headers) if (!HOP.has(k)) out[k] = res.headers[k]
      reply.code(res.statusCode).headers(out).send(res.body)
    })
    return reply
  }
})
app.listen({ port: 18000, host: '127.0.0.1' })
