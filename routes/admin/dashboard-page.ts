import { MIRROR_OUTCOMES } from '../../lib/mirror/counts'

/**
 * The dashboard's one page: HTML, CSS and script inline, nothing fetched from elsewhere, no
 * build step. Data only ever goes into the page as text (textContent), never as markup.
 * Rows are created once and updated in place, so that keyboard focus on a button survives
 * the updates. Colours pass WCAG AA contrast (dark text on light badges).
 */
export function dashboardPage (flags: { guarded: boolean, signedIn: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse</title>
<style>
  :root { font: 15px/1.4 system-ui, sans-serif; color: #111; background: #fafafa; }
  body { margin: 0 auto; max-width: 72rem; padding: 1rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .25rem; }
  .totals { display: flex; gap: 1.5rem; flex-wrap: wrap; margin: .5rem 0 1rem; }
  .totals div { background: #fff; border: 1px solid #ccc; border-radius: 6px; padding: .4rem .8rem; }
  .totals b { display: block; font-size: 1.3rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; }
  th { font-weight: 600; background: #eee; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .state { display: inline-block; padding: 0 .5rem; border-radius: 4px; font-weight: 600; }
  .s-ready { background: #cdeccf; color: #0b3d12; }
  .s-unhealthy { background: #f8d0d0; color: #6b0000; }
  .s-ejected, .s-trial { background: #fde2c2; color: #5c2a00; }
  .s-draining { background: #d6e4ff; color: #0b2a66; }
  .s-maint { background: #e0e0e0; color: #222; }
  button { font: inherit; padding: .1rem .6rem; margin-right: .25rem; border: 1px solid #444; border-radius: 4px; background: #fff; color: #111; cursor: pointer; }
  button:focus-visible, input:focus-visible { outline: 3px solid #1a56db; outline-offset: 2px; }
  svg { vertical-align: middle; }
  .muted { color: #444; }
  form { background: #fff; border: 1px solid #ccc; padding: 1rem; max-width: 24rem; }
  label { display: block; margin-bottom: .25rem; }
  input { font: inherit; width: 100%; box-sizing: border-box; margin-bottom: .5rem; padding: .3rem; }
</style>
</head>
<body>
<h1>Gatehouse</h1>
<p id="status" role="status" aria-live="polite" class="muted">Connecting…</p>
<form id="login" hidden>
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
<section id="totals" class="totals" aria-label="Gateway totals"></section>
<section id="splits" aria-labelledby="h-splits" hidden><h2 id="h-splits">Traffic splits</h2><table><thead><tr><th scope="col">Route</th><th scope="col">Group</th><th scope="col">Weight</th><th scope="col">Share</th></tr></thead><tbody></tbody></table></section>
<section id="mirrors" aria-labelledby="h-mirrors" hidden><h2 id="h-mirrors">Mirrored copies</h2><table><thead><tr><th scope="col">Mirror group</th><th scope="col">Sent</th><th scope="col">Answered</th><th scope="col">Failed</th><th scope="col">Dropped</th><th scope="col">Skipped</th></tr></thead><tbody></tbody></table></section>
<main id="upstreams"></main>
<script>
'use strict'
const guarded = ${JSON.stringify(flags.guarded)}
const signedIn = ${JSON.stringify(flags.signedIn)}
const HISTORY = 120
const $ = id => document.getElementById(id)
const say = text => { $('status').textContent = text }
const el = (tag, attrs = {}, text) => {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  if (text !== undefined) e.textContent = text
  return e
}
const enc = encodeURIComponent
const prev = new Map()
const series = new Map()
const push = (key, value) => {
  const s = series.get(key) ?? []
  s.push(value)
  if (s.length > HISTORY) s.shift()
  series.set(key, s)
  return s
}
const rate = (key, value, at) => {
  const p = prev.get(key)
  prev.set(key, { value, at })
  if (p === undefined || at <= p.at) return 0
  return Math.max(0, (value - p.value) * 1000 / (at - p.at))
}
function spark (values, label) {
  const w = 120, h = 24, max = Math.max(1, ...values)
  const ns = 'http://www.w3.org/2000/svg'
  const svg = document.createElementNS(ns, 'svg')
  svg.setAttribute('width', w); svg.setAttribute('height', h); svg.setAttribute('role', 'img')
  svg.setAttribute('aria-label', label)
  const line = document.createElementNS(ns, 'polyline')
  line.setAttribute('fill', 'none'); line.setAttribute('stroke', '#1a56db'); line.setAttribute('stroke-width', '1.5')
  line.setAttribute('points', values.map((v, i) => (i * w / (HISTORY - 1)).toFixed(1) + ',' + (h - 1 - v * (h - 2) / max).toFixed(1)).join(' '))
  svg.append(line)
  return svg
}
function p99 (u) {
  const window = series.get('lat:' + u.name) ?? []
  const before = window[0], now = u.latency
  if (before === undefined) return null
  const n = now[now.length - 1] - before[before.length - 1]
  if (n <= 0) return null
  for (let i = 0; i < now.length; i++) {
    // The last bucket has no upper bound (null in the sample): above 30 s.
    if (now[i] - before[i] >= 0.99 * n) return i < now.length - 1 ? u.buckets[i] : undefined
  }
  return null
}
const fmt = s => s === null ? '–' : s === undefined ? '> 30 s' : s < 1 ? Math.round(s * 1000) + ' ms' : s + ' s'
async function setState (upstream, server, state) {
  say('Setting ' + upstream + '/' + server + ' to ' + state + '…')
  const res = await fetch('/upstreams/' + enc(upstream) + '/servers/' + enc(server), {
    method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state }), credentials: 'same-origin'
  })
  const body = await res.json().catch(() => ({}))
  say(res.ok ? upstream + '/' + server + ' is now ' + body.adminState : 'Refused: ' + (body.message ?? res.status))
}
function section (u) {
  let s = document.querySelector('section[data-upstream="' + CSS.escape(u.name) + '"]')
  if (s) return s
  s = el('section', { 'data-upstream': u.name, 'aria-labelledby': 'h-' + u.name })
  s.append(el('h2', { id: 'h-' + u.name }, u.name))
  s.append(el('p', { class: 'summary muted' }))
  const table = el('table')
  const head = el('tr')
  const columns = ['Server', 'URL', 'State', 'In flight', 'Req/s', 'Errors', 'Traffic']
  if (guarded && signedIn) columns.push('Actions')
  for (const c of columns) head.append(el('th', { scope: 'col' }, c))
  const thead = el('thead')
  thead.append(head)
  table.append(thead, el('tbody'))
  s.append(table)
  $('upstreams').append(s)
  return s
}
function row (s, u, srv) {
  const tbody = s.querySelector('tbody')
  let tr = tbody.querySelector('tr[data-server="' + CSS.escape(srv.id) + '"]')
  if (tr) return tr
  tr = el('tr', { 'data-server': srv.id })
  tr.append(el('th', { scope: 'row' }, srv.id), el('td', {}, srv.url ?? ''), el('td', { class: 'st' }), el('td', { class: 'num inflight' }),
    el('td', { class: 'num rps' }), el('td', { class: 'num err' }), el('td', { class: 'spark' }))
  if (guarded && signedIn) {
    const actions = el('td')
    for (const [label, state] of [['Drain', 'drain'], ['Ready', 'ready']]) {
      const b = el('button', { type: 'button', 'data-action': state, 'aria-label': label + ' ' + srv.id }, label)
      b.addEventListener('click', () => { setState(u.name, srv.id, state) })
      actions.append(b)
    }
    tr.append(actions)
  }
  tbody.append(tr)
  return tr
}
// A route's weighted split: one row per group, its weight and its share of new clients.
function renderSplits (splits) {
  $('splits').hidden = splits.length === 0
  const rows = []
  for (const r of splits) {
    for (const g of r.split) {
      const tr = el('tr', { 'data-route': String(r.route), 'data-group': g.name })
      tr.append(el('th', { scope: 'row' }, '#' + r.route + ' ' + (r.path ?? '')), el('td', {}, g.name), el('td', { class: 'num' }, String(g.weight)), el('td', { class: 'num share' }, g.percent + ' %'))
      rows.push(tr)
    }
  }
  $('splits').querySelector('tbody').replaceChildren(...rows)
}
// Each mirror group's copies by outcome (totals since start, as the metric counts them).
const MIRROR_OUTCOMES = ${JSON.stringify(MIRROR_OUTCOMES)}
function renderMirrors (mirrors) {
  $('mirrors').hidden = mirrors.length === 0
  const rows = mirrors.map(m => {
    const tr = el('tr', { 'data-upstream': m.upstream })
    tr.append(el('th', { scope: 'row' }, m.upstream), ...MIRROR_OUTCOMES.map(o => el('td', { class: 'num ' + o }, String(m[o] ?? 0))))
    return tr
  })
  $('mirrors').querySelector('tbody').replaceChildren(...rows)
}
function render (data) {
  renderSplits(data.splits ?? [])
  renderMirrors(data.mirrors ?? [])
  let totalRps = 0, inflight = 0, ready = 0, servers = 0
  for (const u of data.upstreams) {
    u.buckets = data.buckets
    const s = section(u)
    const seen = new Set()
    for (const srv of u.servers) {
      const key = u.name + '/' + srv.id
      seen.add(srv.id)
      const rps = rate('a:' + key, srv.attempts, data.at)
      const fps = rate('f:' + key, srv.failedAttempts, data.at)
      const history = push('rps:' + key, rps)
      const tr = row(s, u, srv)
      const st = el('span', { class: 'state s-' + srv.state }, srv.state + (srv.removing ? ' (removing)' : ''))
      tr.querySelector('.st').replaceChildren(st)
      tr.querySelector('.inflight').textContent = srv.inflight
      tr.querySelector('.rps').textContent = rps.toFixed(1)
      tr.querySelector('.err').textContent = rps > 0 ? (100 * fps / rps).toFixed(1) + ' %' : '–'
      tr.querySelector('.spark').replaceChildren(spark(history, 'requests per second of ' + srv.id))
      totalRps += rps; inflight += srv.inflight; servers++
      if (srv.state === 'ready') ready++
    }
    for (const tr of s.querySelectorAll('tbody tr')) if (!seen.has(tr.dataset.server)) tr.remove()
    const lat = push('lat:' + u.name, u.latency)
    if (lat.length > 30) lat.shift()
    const ureq = rate('r:' + u.name, u.requests, data.at)
    s.querySelector('.summary').textContent = u.balance + ' · ' + u.ready + ' of ' + u.servers.length + ' ready · ' + ureq.toFixed(1) + ' req/s · p99 ' + fmt(p99(u)) + ' (last 30 s)'
  }
  const t = $('totals')
  t.replaceChildren()
  for (const [label, value] of [['Requests/s', totalRps.toFixed(1)], ['In flight', inflight], ['Servers ready', ready + ' / ' + servers], ['Upstreams', data.upstreams.length]]) {
    const d = el('div'); d.append(el('b', {}, String(value)), document.createTextNode(label)); t.append(d)
  }
  say('Live · updated ' + new Date(data.at).toLocaleTimeString())
}
function connect () {
  const es = new EventSource('/events')
  es.onmessage = e => render(JSON.parse(e.data))
  es.onerror = () => say('Connection lost, retrying…')
}
if (guarded && !signedIn) {
  say('Sign in with the admin token.')
  $('login').hidden = false
  $('login').addEventListener('submit', async e => {
    e.preventDefault()
    const res = await fetch('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: $('token').value }) })
    if (res.ok) location.reload()
    else say('That token was refused.')
  })
  $('token').focus()
} else {
  connect()
}
</script>
</body>
</html>
`
}
