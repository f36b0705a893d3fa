// HTTP/2 load for bench/tls.sh: one connection, `streams` requests in flight at a time, for
// `seconds`; prints "<requests> <requests per second>". Node's own http2 client (h2load is not
// on every machine).
const http2 = require('node:http2')
const [url, seconds = '4', streams = '100'] = process.argv.slice(2)
const session = http2.connect(url, { rejectUnauthorized: false })
const until = Date.now() + Number(seconds) * 1000
let done = 0
const started = Date.now()
function one () {
  if (Date.now() >= until) return finish()
  const req = session.request({ ':path': '/' })
  req.on('data', () => {})
  req.on('end', () => { done++; one() })
  req.on('error', () => one())
  req.end()
}
let left = Number(streams)
function finish () {
  if (--left > 0) return
  const s = (Date.now() - started) / 1000
  console.log(`${done} ${(done / s).toFixed(0)}`)
  session.close()
}
session.on('connect', () => { for (let i = 0; i < Number(streams); i++) one() })
session.on('error', err => { console.error(err.message); process.exit(1) })
