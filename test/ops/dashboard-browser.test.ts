import t from 'tap'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { startBackend, startGateway, call } from '../helper'
import { waitFor } from '../wait'
import { TOKEN } from './admin-client'

// Debian's chromium (.ci/run installs it), driven by playwright-core: no browser download.
const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
/** Where the screenshot goes: tap's output folder, kept after the run. */
export const SCREENSHOT_DIR = join(__dirname, '..', '..', '.tap', 'ops')

t.test('the dashboard shows every upstream live, a dead backend turns unhealthy, drain moves traffic off', { timeout: 60_000 }, async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const c = await startBackend(t, 'c')
  const gw = await startGateway(t, {
    admin: { port: 0, token: TOKEN },
    upstreams: {
      web: { servers: [{ url: a.url, id: 'a' }, { url: b.url, id: 'b' }, { url: c.url, id: 'c' }], healthCheck: { path: '/', interval: 100, healthyThreshold: 1, unhealthyThreshold: 1 }, passive: { maxFails: 0 } },
      api: { servers: [{ url: a.url, id: 'api-a' }] }
    },
    routes: [{ match: { path: '/api/*' }, upstream: 'api' }, { match: { path: '/*' }, upstream: 'web' }]
  })
  const admin = gw.app.gatehouse.adminUrl as string

  // Steady traffic for the page's rates, until the test ends.
  let running = true
  t.teardown(() => { running = false })
  void (async () => {
    while (running) {
      await Promise.all([call(`${gw.url}/x`).catch(() => {}), call(`${gw.url}/api/y`).catch(() => {})])
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  })()

  const profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1100, height: 720 } })
  t.teardown(async () => { await context.close(); rmSync(profile, { recursive: true, force: true }) })
  const page = context.pages()[0] ?? await context.newPage()
  // A script error on the page fails the test with its message, rather than as a timeout later.
  const errors: string[] = []
  page.on('pageerror', err => errors.push(err.message))
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()) })
  await page.goto(`${admin}/`)

  // Signed out: only the login form, reachable by keyboard.
  await page.keyboard.type(TOKEN)
  await page.keyboard.press('Enter')
  const row = (upstream: string, server: string) => page.locator(`section[data-upstream="${upstream}"] tr[data-server="${server}"]`)
  await row('web', 'a').waitFor({ timeout: 5000 }).catch(async (err: Error) => {
    throw new Error(`${err.message}; page errors: ${errors.join(' | ')}; status: ${await page.locator('#status').innerText()}`)
  })
  for (const [u, s] of [['web', 'a'], ['web', 'b'], ['web', 'c'], ['api', 'api-a']]) t.equal(await row(u, s).count(), 1, `${u}/${s} has a row`)
  t.match(await page.locator('#totals').innerText(), /Upstreams/)

  await c.kill()
  const killed = Date.now()
  await row('web', 'c').locator('.st', { hasText: 'unhealthy' }).waitFor({ timeout: 5000 })
  t.ok(Date.now() - killed < 5000, `row c turned unhealthy after ${Date.now() - killed} ms`)

  // Drain b with the keyboard: focus its Drain button and press Enter.
  await row('web', 'b').locator('button[data-action="drain"]').focus()
  await page.keyboard.press('Enter')
  await row('web', 'b').locator('.st', { hasText: 'draining' }).waitFor({ timeout: 5000 })
  // Health checks go on while draining: count only the proxied requests.
  const proxied = (backend: typeof a) => backend.hits.filter(h => h.url === '/x').length
  const drainedAt = proxied(b)
  const before = proxied(a)
  await waitFor(() => proxied(a) > before + 50, { what: 'more traffic to a', timeout: 10_000 })
  t.ok(proxied(b) <= drainedAt + 1, 'no new traffic to the drained server')
  await waitFor(async () => (await row('web', 'b').locator('.rps').innerText()) === '0.0', { what: 'b at 0 req/s on the page', timeout: 5000 })
  t.not(await row('web', 'a').locator('.rps').innerText(), '0.0', 'a carries it')

  t.same(errors, [], 'no errors on the page')
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'dashboard.png'), fullPage: true })
})

t.test('the dashboard shows a split route\'s weights and shares, and follows a change', { timeout: 60_000 }, async t => {
  const a = await startBackend(t, 'a')
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, {
    admin: { port: 0 },
    upstreams: { v1: { servers: [{ url: a.url }] }, v2: { servers: [{ url: b.url }] } },
    routes: [{ match: { path: '/one' }, upstream: 'v1' }, { match: { path: '/*' }, upstream: [{ name: 'v1', weight: 95 }, { name: 'v2', weight: 5 }] }]
  })
  const profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS })
  t.teardown(async () => { await context.close(); rmSync(profile, { recursive: true, force: true }) })
  const page = context.pages()[0] ?? await context.newPage()
  const errors: string[] = []
  page.on('pageerror', err => errors.push(err.message))
  await page.goto(`${gw.app.gatehouse.adminUrl as string}/`)
  const share = (group: string) => page.locator(`#splits tr[data-route="1"][data-group="${group}"] .share`)
  await share('v2').waitFor({ timeout: 5000 })
  t.equal(await share('v1').innerText(), '95 %')
  t.equal(await share('v2').innerText(), '5 %')
  t.ok(await page.locator('#splits').isVisible(), 'the section shows')
  gw.app.gatehouse.splits.set(1, { v1: 1, v2: 2 }, 'test')
  await page.locator('#splits tr[data-group="v2"] .share', { hasText: '66.67 %' }).waitFor({ timeout: 5000 })
  t.same(errors, [], 'no errors on the page')
})

t.test('the dashboard shows a mirror group\'s copies by outcome, and follows them', { timeout: 60_000 }, async t => {
  const a = await startBackend(t, 'a')
  const shadow = await startBackend(t, 'shadow')
  const gw = await startGateway(t, {
    admin: { port: 0 },
    upstreams: { app: { servers: [{ url: a.url }] }, shadow: { servers: [{ url: shadow.url }] } },
    routes: [{ match: { path: '/*' }, upstream: 'app', mirror: { upstream: 'shadow', percent: 100 } }]
  })
  const profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS })
  t.teardown(async () => { await context.close(); rmSync(profile, { recursive: true, force: true }) })
  const page = context.pages()[0] ?? await context.newPage()
  const errors: string[] = []
  page.on('pageerror', err => errors.push(err.message))
  await page.goto(`${gw.app.gatehouse.adminUrl as string}/`)
  const cell = (outcome: string) => page.locator(`#mirrors tr[data-upstream="shadow"] .${outcome}`)
  await cell('answered').waitFor({ timeout: 5000 })
  t.ok(await page.locator('#mirrors').isVisible(), 'the section shows')
  t.equal(await cell('answered').innerText(), '0')
  for (let i = 0; i < 2; i++) await call(`${gw.url}/x`)
  await page.locator('#mirrors tr[data-upstream="shadow"] .answered', { hasText: '2' }).waitFor({ timeout: 5000 })
  t.equal(await cell('sent').innerText(), '2')
  t.equal(await cell('failed').innerText(), '0')
  t.same(errors, [], 'no errors on the page')
})
