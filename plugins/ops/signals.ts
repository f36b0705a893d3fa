import type { FastifyInstance } from 'fastify'
import { reloadFile } from './reload-file'

const SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT'] as const

export interface SignalsOptions {
  /** The file SIGHUP re-reads. */
  configFile: string | undefined
  drainTimeout: number
}

/**
 * Standalone mode: SIGHUP reloads the config file, SIGTERM and SIGINT drain and exit 0.
 *
 * Gatehouse owns these three signals. fastify-cli wraps the app in close-with-grace, which
 * closes the server on SIGHUP too and exits 1 when closing takes more than 500 ms; neither
 * suits a gateway that reloads in place and drains for up to drainTimeout. A launcher installs
 * such handlers after the app is registered and before listen, so the listeners present now
 * are remembered and, at onReady, only those added since are removed: this depends on when
 * the launcher adds them, not on what its functions are called.
 */
export default async function signals (fastify: FastifyInstance, opts: SignalsOptions) {
  let closing = false
  const before = new Map(SIGNALS.map(signal => [signal, new Set(process.listeners(signal))]))

  const onHup = () => {
    if (opts.configFile === undefined) {
      fastify.log.warn('SIGHUP: no GATEHOUSE_CONFIG file to reload')
      return
    }
    reloadFile(fastify, opts.configFile, 'SIGHUP')
  }

  const onStop = (signal: NodeJS.Signals) => {
    if (closing) {
      fastify.log.warn({ signal }, 'second signal while draining: exiting now')
      process.exit(1)
    }
    closing = true
    fastify.log.info({ signal, drainTimeout: opts.drainTimeout }, 'draining: no new connections, waiting for in-flight requests')
    const timer = setTimeout(() => {
      fastify.log.warn({ drainTimeout: opts.drainTimeout }, 'drain timeout: closing the connections that are left')
      fastify.server.closeAllConnections()
    }, opts.drainTimeout)
    timer.unref()
    fastify.close().then(
      () => {
        fastify.log.info('drained, exiting')
        process.exit(0)
      },
      (err: Error) => {
        fastify.log.error({ err }, 'error while closing')
        process.exit(1)
      }
    )
  }

  fastify.addHook('onReady', async () => {
    for (const signal of SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener)
      }
    }
    process.on('SIGHUP', onHup)
    process.on('SIGTERM', onStop)
    process.on('SIGINT', onStop)
  })

  fastify.addHook('onClose', async () => {
    process.removeListener('SIGHUP', onHup)
    process.removeListener('SIGTERM', onStop)
    process.removeListener('SIGINT', onStop)
  })
}
