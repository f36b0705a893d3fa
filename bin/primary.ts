// The primary of `gatehouse --workers N`: validates the config, starts the workers and owns
// the signals. It loads neither Fastify nor the gateway's plugins (only the config's
// validation): it is small, so that it rarely needs replacing itself (README, Workers).
import { loadConfigFile } from '../lib/config'
import { routeTableChanged } from '../lib/http/route-table'
import type { NormalizedConfig } from '../lib/config/types'
import { Primary } from '../lib/cluster/primary'
import { primaryLog } from '../lib/cluster/log'
import { freePort, PORT_ENV } from '../lib/cluster/free-port'
import { checkMachineWide } from '../lib/cluster/machine-wide'
import { watchFile } from '../lib/cluster/watch-file'
import { COUNT_ENV, RUNTIME_RETAIN } from '../lib/cluster/messages'

export interface PrimaryCommand {
  configFile: string
  count: number
  logLevel: string
  port: number
  host: string
}

/** Starts the primary; returns an error message when the config is refused at start. */
export async function runPrimary (opts: PrimaryCommand): Promise<{ error: string } | undefined> {
  const log = primaryLog(opts.logLevel)
  let config: NormalizedConfig
  try {
    config = loadConfigFile(opts.configFile, { handleSignals: true })
    checkMachineWide(config, opts.count)
  } catch (err) {
    const e = err as Error & { code?: string }
    return { error: e.code === 'GH_CONFIG_INVALID' ? e.message : String(e.stack ?? e) }
  }
  const primary = new Primary({ count: opts.count, log, drainTimeout: () => config.drainTimeout })
  let stopping = false

  const reload = (trigger: 'SIGHUP' | 'watch') => {
    let next: NormalizedConfig
    try {
      next = loadConfigFile(opts.configFile, { handleSignals: true })
      checkMachineWide(next, opts.count)
    } catch (err) {
      log.error({ file: opts.configFile, trigger, error: (err as Error).message }, 'config reload refused; every worker keeps its config')
      return
    }
    const routesChanged = routeTableChanged(config.routes, next.routes)
    config = next
    // The file is the truth again: the runtime changes the workers kept are dropped by the reload.
    primary.forget(RUNTIME_RETAIN)
    if (routesChanged) {
      // A running Fastify cannot take new routes: new workers, started with the new file, can.
      log.info({ trigger }, 'config validated; the route table changed: replacing the workers')
      void primary.replaceAll(`${trigger} with new routes`)
    } else {
      log.info({ trigger }, 'config validated; every worker reloads it')
      primary.signalAll('SIGHUP')
    }
  }
  process.on('SIGHUP', () => reload('SIGHUP'))
  // Fixed at start, as in one process; the workers leave the watching to the primary (app.ts).
  if (config.watch) watchFile(opts.configFile, () => reload('watch'))

  process.on('SIGUSR2', () => {
    void primary.replaceAll('SIGUSR2')
  })

  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal while draining: exiting now')
      for (const e of primary.table.entries) e.worker.process.kill('SIGKILL')
      process.exit(1)
    }
    stopping = true
    log.info({ signal, drainTimeout: config.drainTimeout }, 'draining every worker')
    primary.stop().then(() => {
      log.info({}, 'every worker drained, exiting')
      process.exit(0)
    }, (err: Error) => {
      log.error({ error: err.message }, 'error while draining')
      process.exit(1)
    })
  }
  process.on('SIGTERM', onStop)
  process.on('SIGINT', onStop)

  process.env[COUNT_ENV] = String(opts.count)
  if (opts.port === 0) process.env[PORT_ENV] = String(await freePort(opts.host))
  log.info({ workers: opts.count }, 'primary starting workers')
  primary.start()
  return undefined
}
