import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import { once } from 'node:events'
import { waitFor } from '../wait'

type Test = { teardown (fn: () => unknown): void }

/** A port free now, from listen(0); the external servers below need one in their config file. */
export async function freePort (): Promise<number> {
  const s = createServer()
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  return port
}

/** Waits until something accepts connections on 127.0.0.1:port. */
export async function listening (port: number, what: string): Promise<void> {
  await waitFor(async () => await new Promise<boolean>(resolve => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  }), { timeout: 5000, what, every: 20 })
}

function own (t: Test, child: ChildProcess, name: string): { output: () => string } {
  let output = ''
  child.stdout?.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { output += c.toString() })
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  })
  child.on('error', err => { output += `${name}: ${err.message}` })
  return { output: () => output }
}

/**
 * HAProxy in TCP mode in front of `target`, sending the PROXY protocol (`send-proxy` for v1,
 * `send-proxy-v2`), in the foreground (-db), killed by its pid in teardown.
 */
export async function startHaproxyFront (t: Test, target: number, version: 'v1' | 'v2'): Promise<{ port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-haproxy-'))
  const port = await freePort()
  const cfg = join(dir, 'haproxy.cfg')
  writeFileSync(cfg, [
    'global',
    '  maxconn 256',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 10s',
    '  timeout server 10s',
    'frontend front',
    `  bind 127.0.0.1:${port}`,
    '  default_backend gw',
    'backend gw',
    `  server gw 127.0.0.1:${target} ${version === 'v1' ? 'send-proxy' : 'send-proxy-v2'}`,
    ''
  ].join('\n'))
  const child = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] })
  const { output } = own(t, child, 'haproxy')
  try {
    await listening(port, 'haproxy to listen')
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${output()}`)
  }
  return { port }
}

/**
 * nginx as a backend that accepts the PROXY protocol (`listen ... proxy_protocol`) and logs
 * `$proxy_protocol_addr` of every request to a file the test reads; a -p temp dir, `daemon off`.
 */
export interface NginxLine { address: string, connection: string, uri: string }

export async function startNginxBackend (t: Test, tls?: { cert: string, key: string }): Promise<{ port: number, url: string, lines: () => NginxLine[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-nginx-'))
  const port = await freePort()
  const log = join(dir, 'pp.log')
  writeFileSync(join(dir, 'nginx.conf'), [
    'worker_processes 1;',
    'pid nginx.pid;',
    `error_log ${join(dir, 'error.log')};`,
    'events { worker_connections 256; }',
    'http {',
    `  access_log ${join(dir, 'access.log')};`,
    '  client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;',
    "  log_format pp '$proxy_protocol_addr $connection $request_uri';",
    '  server {',
    `    listen 127.0.0.1:${port}${tls === undefined ? '' : ' ssl'} proxy_protocol;`,
    ...(tls === undefined ? [] : [`    ssl_certificate ${tls.cert};`, `    ssl_certificate_key ${tls.key};`]),
    `    access_log ${log} pp;`,
    "    location / { return 200 'nginx $proxy_protocol_addr\\n'; }",
    '  }',
    '}',
    ''
  ].join('\n'))
  const child = spawn('/usr/sbin/nginx', ['-p', dir, '-c', 'nginx.conf', '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const { output } = own(t, child, 'nginx')
  try {
    await waitFor(() => existsSync(join(dir, 'nginx.pid')) || child.exitCode !== null, { timeout: 5000, what: 'nginx to start' })
    if (child.exitCode !== null) throw new Error('nginx exited')
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${output()} ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`)
  }
  return {
    port,
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    lines: () => existsSync(log)
      ? readFileSync(log, 'utf8').split('\n').filter(l => l !== '').map(l => {
        const [address, connection, uri] = l.split(' ')
        return { address, connection, uri }
      })
      : []
  }
}

/** A raw connection to the gateway from a given local address (any 127.x.y.z works on Linux). */
export async function rawConnect (port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', localAddress })
  await once(s, 'connect')
  return s
}

/** Everything the peer sends until it closes, and whether it closed. */
export async function readUntilClosed (s: Socket, timeout = 4000): Promise<string> {
  let got = ''
  s.on('data', (c: Buffer) => { got += c.toString('latin1') })
  s.on('error', () => {})
  await waitFor(() => s.destroyed || s.readableEnded, { timeout, what: 'the gateway to close the connection' })
  return got
}
