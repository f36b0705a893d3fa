import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT, readmeBlock } from '../readme'

// The package as a user gets it: packed, installed from the tarball into new ESM and
// CommonJS apps, and the README's plugin snippet compiled there unchanged. Takes 15-30 s,
// most of it npm install (from the npm cache when it can).
const run = promisify(execFile)
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

const TSCONFIG_NODENEXT = { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, skipLibCheck: true, noEmit: true } }
// What `tsc --init` gave CommonJS projects for years.
const TSCONFIG_CLASSIC_CJS = { compilerOptions: { module: 'commonjs', moduleResolution: 'node10', target: 'es2022', strict: true, esModuleInterop: true, skipLibCheck: true, noEmit: true } }

const APPS = [
  { name: 'esm', pkg: { type: 'module' }, tsconfig: TSCONFIG_NODENEXT, load: `import('gatehouse').then(m => m.default)` },
  { name: 'cjs', pkg: { type: 'commonjs' }, tsconfig: TSCONFIG_NODENEXT, load: `Promise.resolve(require('gatehouse'))` },
  { name: 'cjs-classic', pkg: {}, tsconfig: TSCONFIG_CLASSIC_CJS, load: `Promise.resolve(require('gatehouse'))` }
]

// The shipped types refuse what the schema would refuse at start.
const MISSING_ROUTES = `import Fastify from 'fastify'
import gatehouse from 'gatehouse'
// @ts-expect-error no routes
Fastify().register(gatehouse, { upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9001' }] } } })
`

t.test('the packed tarball installs cleanly and the README plugin snippet compiles in ESM and CommonJS apps', { timeout: 120_000 }, async t => {
  t.ok(existsSync(join(ROOT, 'dist', 'app.js')), 'dist/ is built (npm test builds it first)')
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pack-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  // --ignore-scripts: prepack would rebuild dist/ under the other tests' feet.
  const packed = JSON.parse((await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT })).stdout)[0]
  const files: string[] = packed.files.map((f: { path: string }) => f.path)
  for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/app.js', 'dist/app.d.ts', 'dist/bin/gatehouse.js']) t.ok(files.includes(f), `ships ${f}`)
  t.same(files.filter(f => f.endsWith('.map')), [], 'no source maps (they would point to sources not shipped)')
  t.same(files.filter(f => !f.startsWith('dist/') && !['LICENSE', 'README.md', 'package.json'].includes(f)), [], 'nothing else')
  t.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 the Gatehouse authors\n/)

  const devFastify = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies.fastify
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, dependencies: { gatehouse: `file:./${packed.filename}`, fastify: devFastify } }))
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, env: { ...process.env, npm_config_loglevel: 'warn' } })
  const output = install.stdout + install.stderr
  const nm = join(dir, 'node_modules')
  t.notOk(existsSync(join(nm, 'fastify-cli')), 'fastify-cli is not installed for library users')
  t.notOk('fastify' in (JSON.parse(readFileSync(join(nm, 'gatehouse', 'package.json'), 'utf8')).dependencies ?? {}), 'fastify is a peer, not a dependency')
  // An engine warning is ours to fix only for packages that the fastify peer does not bring itself.
  const fromFastify = closure(nm, 'fastify')
  const unsupported = [...output.matchAll(/EBADENGINE\s+package: '([^@']+|@[^@']+)@/g)].map(m => m[1])
  t.same(unsupported.filter(name => !fromFastify.has(name)), [], `no EBADENGINE warning for Gatehouse's own dependencies (npm said: ${unsupported.join(', ') || 'none'})`)

  // The apps' compiler and Node types: the project's own, as a user's project would have its own.
  mkdirSync(join(nm, '@types'), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules', 'typescript'), join(nm, 'typescript'), 'dir')
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(nm, '@types', 'node'), 'dir')

  const snippet = readmeBlock('3. As a plugin in your Fastify app', 'ts')
  await Promise.all(APPS.map(async app => {
    const appDir = join(dir, app.name)
    mkdirSync(appDir)
    writeFileSync(join(appDir, 'package.json'), JSON.stringify({ private: true, ...app.pkg }))
    writeFileSync(join(appDir, 'tsconfig.json'), JSON.stringify(app.tsconfig))
    writeFileSync(join(appDir, 'index.ts'), snippet)
    writeFileSync(join(appDir, 'missing-routes.ts'), MISSING_ROUTES)
    const tsc = await run(process.execPath, [TSC, '-p', appDir], { cwd: appDir }).then(() => '', (err: { stdout: string }) => err.stdout)
    t.equal(tsc, '', `${app.name}: tsc --noEmit passes on the README snippet`)
    // At run time the default import and require() get the plugin itself.
    const check = `${app.load}.then(p => { if (typeof p !== 'function' || p.default !== p || typeof p.gatehouseFromFile !== 'function') process.exit(3) })`
    const loaded = await run(process.execPath, ['--input-type', app.name === 'esm' ? 'module' : 'commonjs', '-e', check], { cwd: appDir }).then(() => 0, (err: { code: number }) => err.code)
    t.equal(loaded, 0, `${app.name}: the default import is the plugin at run time`)
  }))
})

/** Names of the packages installed under nm that `name` depends on, directly or not. */
function closure (nm: string, name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen
  seen.add(name)
  const file = join(nm, name, 'package.json')
  if (!existsSync(file)) return seen
  for (const dep of Object.keys(JSON.parse(readFileSync(file, 'utf8')).dependencies ?? {})) closure(nm, dep, seen)
  return seen
}
