#!/usr/bin/env node
// The gatehouse command: the gateway in its own process, with Fastify directly (no launcher
// in between), so the signals systemd, pm2, supervisord or a container runtime send reach it.
// First, before Fastify loads: the V8 heap flags (bin/node-flags.ts).
import './node-flags'
import cluster from 'node:cluster'
import { parseArgs } from 'node:util'
import { parseWorkersFlag, workerCount, workersInFile } from '../lib/cluster/worker-count'
import { COUNT_ENV, SLOT_ENV } from '../lib/cluster/messages'
import { PORT_ENV } from '../lib/cluster/free-port'

const USAGE = 'usage: gatehouse [--port 8080] [--host 127.0.0.1] [--log-level info] [--trust-proxy ADDRESSES|HOPS|true] [--workers N|auto] CONFIG'
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
        workers: { type: 'string', short: 'w' },
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
  let flag
  try {
    flag = parseWorkersFlag(args.values.workers)
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`, 2)
  }
  const configFile = args.positionals[0]
  const logLevel = args.values['log-level'] ?? DEFAULT_LOG_LEVEL

  // Several workers: this process is their primary, and loads no Fastify (bin/primary.ts).
  const count = workerCount(flag ?? workersInFile(configFile) ?? 1)
  if (cluster.isPrimary && count > 1) {
    const { runPrimary } = await import('./primary')
    const failed = await runPrimary({ configFile, count, logLevel, port, host: args.values.host ?? DEFAULT_HOST })
    if (failed !== undefined) fail(failed.error, 1)
    else if (process.env.npm_lifecycle_event !== undefined) exitWithLauncher()
    return
  }

  const { serve } = await import('./serve')
  const worker = cluster.isWorker ? await workerChannel() : undefined
  // `--port 0` under workers: the port the primary chose, the same for every worker.
  const workerPort = worker === undefined ? undefined : process.env[PORT_ENV]
  const failed = await serve({ configFile, port: workerPort === undefined ? port : Number(workerPort), host: args.values.host ?? DEFAULT_HOST, logLevel, trustProxy: trustProxyOf(args.values['trust-proxy']), worker })
  if (failed !== undefined) {
    fail(failed.error, 1)
    // A worker that cannot start must say so to the primary by exiting, not linger.
    if (worker !== undefined) process.exit(1)
    return
  }
  if (worker !== undefined) {
    // The primary owns Ctrl-C: a terminal sends SIGINT to the whole process group, and the
    // primary then asks each worker to drain (SIGTERM). A worker draining on SIGINT as well
    // would see that SIGTERM as a second signal and exit at once.
    process.removeAllListeners('SIGINT')
    process.on('SIGINT', () => {})
  } else if (process.env.npm_lifecycle_event !== undefined) exitWithLauncher()
}

async function workerChannel () {
  const { WorkerChannel } = await import('../lib/cluster/worker-channel')
  return new WorkerChannel(Number(process.env[SLOT_ENV] ?? 1), Number(process.env[COUNT_ENV] ?? 1))
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
