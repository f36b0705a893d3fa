// Summarises a .heapprofile written by bench/alloc-window.js (ALLOC_SAMPLE): bytes allocated
// per request by the function that allocated them (self), the top N, and by package.
//   node bench/alloc-summary.js FILE REQUESTS [N]
'use strict'
const [file, requests, top = 40] = process.argv.slice(2)
const profile = JSON.parse(require('node:fs').readFileSync(file, 'utf8'))
const n = Number(requests)
const byFn = new Map()
const byPkg = new Map()
let total = 0
function pkg (url) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m) return m[1]
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0]
  if (url === '') return '(native/V8)'
  return url.includes('/dist/') ? 'gatehouse' : url
}
function walk (node) {
  const f = node.callFrame
  const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${f.lineNumber + 1}`
  byFn.set(key, (byFn.get(key) ?? 0) + node.selfSize)
  const p = pkg(f.url)
  byPkg.set(p, (byPkg.get(p) ?? 0) + node.selfSize)
  total += node.selfSize
  for (const c of node.children) walk(c)
}
walk(profile.head)
console.log(`sampled ${(total / n).toFixed(0)} bytes per request over ${n} requests`)
for (const [k, v] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(v / n).toFixed(0).padStart(7)}  ${k}`)
console.log('---')
for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`${(v / n).toFixed(0).padStart(7)}  ${k}`)
