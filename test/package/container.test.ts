import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT, readmeBlock } from '../readme'
import { normalizeConfig } from '../../lib/config'
import { writeConfig } from '../standalone/process'
import { launch } from '../command/launch'

// The image cannot be built here (no base images, no docker engine), so this checks that the
// Dockerfile, compose.yaml, the example config and the README agree, and runs what the
// container would run: the gatehouse command with the image's CMD arguments, and its
// HEALTHCHECK command against it.
const run = promisify(execFile)

/** Dockerfile instructions as [KEYWORD, arguments], continuation lines joined. */
function instructions (text: string): Array<[string, string]> {
  return text.replace(/\\\n/g, ' ').split('\n')
    .filter(l => l.trim() !== '' && !l.trim().startsWith('#'))
    .map(l => { const m = /^(\w+)\s+(.*)$/.exec(l.trim())!; return [m[1].toUpperCase(), m[2]] })
}

const dockerfile = instructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const one = (kw: string) => dockerfile.filter(([k]) => k === kw).map(([, v]) => v)
const cmd: string[] = JSON.parse(one('CMD').at(-1)!)
const opt = (name: string) => cmd[cmd.indexOf(name) + 1]
const configPath = cmd.at(-1)!
const example = JSON.parse(readFileSync(join(ROOT, 'examples', 'docker', 'gatehouse.json'), 'utf8'))
const healthcheck: string[] = JSON.parse(one('HEALTHCHECK')[0].replace(/^.*?CMD\s+/, ''))

t.test('the Dockerfile runs the gatehouse command on the config it ships, as a user other than root', async t => {
  t.equal(cmd[0], 'gatehouse')
  t.equal(configPath, '/etc/gatehouse/gatehouse.json')
  t.ok(one('COPY').includes(`examples/docker/gatehouse.json ${configPath}`), 'the example config is the image\'s default')
  t.match(one('FROM').at(-1), /^node:24-(alpine|slim)$/)
  t.notMatch(one('USER').at(-1), /^(root|0)$/)
  t.ok(one('USER').length > 0, 'a USER is set')
  // The admin API binds 0.0.0.0 in the container, so it needs a token (anyone on the
  // network reaches it there): compose.yaml passes it.
  t.doesNotThrow(() => normalizeConfig(example, { env: { GATEHOUSE_ADMIN_TOKEN: 'a-token-of-16-chars-or-more' } }), 'the example config is valid with a token')
  t.throws(() => normalizeConfig(example, { env: {} }), /admin\.token \(or GATEHOUSE_ADMIN_TOKEN\) is required/, 'and refused without one')
  t.match(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), /GATEHOUSE_ADMIN_TOKEN=\$\{GATEHOUSE_ADMIN_TOKEN:\?/, 'compose passes the token')
})

t.test('exposed ports, health check and compose match the example config and the README', async t => {
  const adminPort: number = example.admin.port
  t.equal(example.admin.host, '0.0.0.0', 'the admin API is reachable from outside the container')
  t.same(one('EXPOSE').join(' ').split(/\s+/).map(Number).sort(), [Number(opt('--port')), adminPort].sort())
  t.ok(healthcheck.join(' ').includes(`http://127.0.0.1:${adminPort}/health`), 'HEALTHCHECK asks the admin /health')

  const block = readmeBlock('Container', 'sh')
  t.match(block, new RegExp(`-p ${opt('--port')}:${opt('--port')}`), 'the README publishes the proxy port')
  t.ok(block.includes(`:${configPath}`), 'the README mounts the config where CMD reads it')
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  t.ok(readme.includes('`' + cmd.join(' ') + '`'), 'the README names the command the container runs')
  t.match(readme, new RegExp(`exposes ${opt('--port')} \\(proxy\\) and\\s+${adminPort} \\(admin\\)`), 'the README names the exposed ports')

  const compose = readFileSync(join(ROOT, 'compose.yaml'), 'utf8')
  t.match(compose, /^ {2}redis:\n {4}image: redis/m, 'compose runs Redis')
  t.equal(new URL(example.rateLimit.redis).hostname, 'redis', 'the example config counts in that Redis')
  const gateways = [...compose.matchAll(/^ {2}(gateway-\d+):\n((?: {4}.*\n)+)/gm)]
  t.equal(gateways.length, 2, 'two gateways')
  for (const [, name, body] of gateways) {
    t.match(body, /build: \./, `${name} is built from the Dockerfile`)
    t.ok(body.includes(`:${configPath}:ro`), `${name} mounts its config where CMD reads it`)
    const published = [...body.matchAll(/"(?:[\d.]+:)?\d+:(\d+)"/g)].map(m => Number(m[1])).sort()
    t.same(published, [Number(opt('--port')), adminPort].sort(), `${name} publishes the exposed ports`)
  }
})

t.test('what the container runs: the CMD arguments start the gateway, and the HEALTHCHECK passes on it', async t => {
  // The same arguments with free ports and no Redis (none called "redis" here).
  const config = { ...example, rateLimit: undefined, admin: { ...example.admin, port: 0, host: '127.0.0.1' } }
  const args = cmd.slice(1, -1).map((a, i, all) => all[i - 1] === '--port' ? '0' : all[i - 1] === '--host' ? '127.0.0.1' : a)
  const gw = launch(t, process.execPath, [join(ROOT, 'dist', 'bin', 'gatehouse.js'), ...args, writeConfig(config)])
  await gw.listening()
  const admin = new URL((await gw.waitForLog(l => l.msg === 'admin API listening')).url)
  const [bin, ...rest] = healthcheck
  t.equal(bin, 'node')
  const check = rest.map(a => a.replace(`127.0.0.1:${example.admin.port}`, admin.host))
  t.equal(await run(process.execPath, check).then(() => 0, (err: { code: number }) => err.code), 0, 'healthy while serving')
  gw.child.kill('SIGTERM')
  t.same(await gw.exited, { code: 0, signal: null })
  t.equal(await run(process.execPath, check).then(() => 0, (err: { code: number }) => err.code), 1, 'unhealthy once gone')
})
