#!/usr/bin/env node
// The gatehouse command: the gateway in its own process, with Fastify directly (no launcher
// in between), so the signals systemd, pm2, supervisord or a container runtime send reach it.
// First, before Fastify loads: the V8 heap flags (bin/node-flags.ts).
import './node-flags'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { parseArgs } from 'node:util'
import gatehouse from '../app'
import { serverOptionsFromFile } from '../lib/http/server-options'

const USAGE = 'usage: gatehouse [--port 8080] [--host 127.0.0.1] [--log-level info] [--trust-proxy ADDRESSES|HOPS|true] CONFIG'
const DEFAULT_PORT = 8080
const DEFAULT_HOST = '127.0.0.1'
const DEFAULT_LOG_LEVEL = 'info'

async function main (argv: string[]): Promise<void> {
  let args
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string', short: 'a' },
        'log-level': { type: 'string', short: 'l' },
        'trust-proxy': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`, 2)
  }
  if (args.values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (args.positionals.length !== 1) return fail(USAGE, 2)
  const port = Number(args.values.port ?? DEFAULT_PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail(`--port: not a port: ${args.values.port}\n${USAGE}`, 2)

  // The listener's TLS and HTTP/2 come from the config file (issue 10): the server is made with them.
  let tls
  try {
    tls = serverOptionsFromFile(args.positionals[0])
  } catch (err) {
    const e = err as Error & { code?: string }
    return fail(e.code === 'GH_CONFIG_INVALID' ? e.message : String(e.stack ?? e), 1)
  }
  const trustProxy = trustProxyOf(args.values['trust-proxy'])
  const app = Fastify({ logger: { level: args.values['log-level'] ?? DEFAULT_LOG_LEVEL }, ...tls, ...(trustProxy === undefined ? undefined : { trustProxy }) } as FastifyServerOptions) as unknown as FastifyInstance
  app.register(gatehouse.gatehouseFromFile, { configFile: args.positionals[0] })
  try {
    // Fastify logs "Server listening at http://host:port" with the port actually bound.
    await app.listen({ port, host: args.values.host ?? DEFAULT_HOST })
  } catch (err) {
    const e = err as Error & { code?: string }
    return fail(e.code === 'GH_CONFIG_INVALID' ? e.message : String(e.stack ?? e), 1)
  }
  if (process.env.npm_lifecycle_event !== undefined) exitWithLauncher()
}

/**
 * Under `npm start`, npm passes SIGTERM and SIGINT on to this process but not SIGHUP: npm
 * dies of it and this process would be left running with no one to stop it. So when started
 * by npm, a launcher that goes away is treated as a SIGTERM: drain and exit.
 */
function exitWithLauncher (): void {
  const launcher = process.ppid
  const timer = setInterval(() => {
    if (process.ppid !== launcher) {
      clearInterval(timer)
      process.kill(process.pid, 'SIGTERM')
    }
  }, 200)
  timer.unref()
}

/**
 * Fastify's trustProxy: which peers may name the client in X-Forwarded-For (request.ip, the
 * address filters and the `ip` rate-limit key then use it). `true` trusts every peer, a number
 * that many hops, anything else is a comma list of addresses and CIDRs (proxy-addr's syntax).
 */
function trustProxyOf (value: string | undefined): boolean | number | string | undefined {
  if (value === undefined) return undefined
  if (value === 'true') return true
  if (/^\d+$/.test(value)) return Number(value)
  return value
}

function fail (message: string, code: number): void {
  process.stderr.write(`${message}\n`)
  process.exitCode = code
}

void main(process.argv.slice(2))
