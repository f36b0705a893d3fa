// Shares of a .cpuprofile's busy time (from the first request on: start-up left out) spent under
// named functions, inclusive of what they call: to compare two builds' profiles of one scenario
// by where the time goes, which a loaded machine disturbs much less than absolute figures.
//   node bench/profile-paths.js FILE.cpuprofile|DIR [name[@file-part] ...]
// A name matches a frame's function name; @part also requires the script's URL to contain it.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
let [file, ...names] = process.argv.slice(2)
if (fs.statSync(file).isDirectory()) file = fs.readdirSync(file).filter(f => f.endsWith('.cpuprofile')).map(f => path.join(file, f)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]
const p = JSON.parse(fs.readFileSync(file, 'utf8'))
const byId = new Map(p.nodes.map(n => [n.id, n]))
const parent = new Map()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const wanted = names.map(s => { const [fn, part] = s.split('@'); return { s, fn, part } })
const hit = new Map(wanted.map(w => [w.s, 0]))
let busy = 0
let started = false
const cache = new Map()
function stackOf (id) {
  let r = cache.get(id)
  if (r) return r
  const frames = []
  for (let x = id; x !== undefined; x = parent.get(x)) frames.push(byId.get(x).callFrame)
  r = frames
  cache.set(id, r)
  return r
}
for (let i = 0; i < p.samples.length; i++) {
  const id = p.samples[i]
  const dt = p.timeDeltas[i] ?? 0
  const node = byId.get(id)
  const name = node.callFrame.functionName
  if (name === '(idle)') continue
  const stack = stackOf(id)
  if (!started) {
    if (!stack.some(f => f.functionName === 'parserOnIncoming')) continue
    started = true
  }
  busy += dt
  for (const w of wanted) {
    if (stack.some(f => f.functionName === w.fn && (w.part === undefined || f.url.includes(w.part)))) hit.set(w.s, hit.get(w.s) + dt)
  }
}
console.log(`${path.basename(file)}: busy ${(busy / 1e3).toFixed(0)} ms from the first request on`)
for (const [s, t] of hit) console.log(`${(100 * t / busy).toFixed(2).padStart(6)} %  ${s}`)
