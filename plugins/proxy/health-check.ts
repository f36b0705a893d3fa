import { Agent } from 'undici'
import type { FastifyInstance } from 'fastify'
import type { Backend } from '../../lib/upstreams/backend'
import type { HealthCheckOptions } from '../../lib/config'
import type { Upstream } from '../../lib/upstreams/upstream'
import type { WorkerChannel } from '../../lib/cluster/worker-channel'
import { HEALTH_RETAIN, HEALTH_TOPIC, PROBE_SLOT, type VerdictMessage } from '../../lib/cluster/messages'
import { createCheckers, failureReason, HealthState, type CheckResult, type HealthTransition } from '../../lib/upstreams/health'

/** The checks of one server: its verdict, its settings and its single pending timer. */
interface Probe {
  readonly upstream: Upstream
  readonly backend: Backend
  options: HealthCheckOptions
  /** The options as JSON, to tell a reload that changed them from one that did not. */
  settings: string
  readonly state: HealthState
  timer: NodeJS.Timeout | undefined
  running: boolean
  stopped: boolean
  /** Bumped when the settings change, so that a check started under the old ones is ignored. */
  generation: number
}

/**
 * Active health checks. Each server of an upstream with a `healthCheck` is probed every
 * `interval`; the verdict (HealthState) decides `backend.healthy`, which the BackendSet
 * reads. Not wrapped in fastify-plugin: it decorates nothing, and it only needs
 * `fastify.gatehouse`, which its parent already exposes to it.
 */
async function healthCheck (fastify: FastifyInstance): Promise<void> {
  const registry = fastify.gatehouse.registry
  // Under workers one worker probes for the machine and the others take its verdicts.
  const worker = fastify.gatehouseWorker
  if (worker !== undefined && worker.slot !== PROBE_SLOT) return followVerdicts(fastify, worker)
  // Probes get their own connections: they must neither wait behind proxied requests in a
  // busy pool nor count against an upstream's connection limit.
  const agent = new Agent({ pipelining: 1 })
  const checkers = createCheckers(agent)
  const probes = new Map<Backend, Probe>()

  function sync (upstreams: readonly Upstream[]): void {
    const wanted = new Map<Backend, Upstream>()
    for (const upstream of upstreams) {
      if (upstream.options.healthCheck === undefined) continue
      for (const backend of upstream.backends.all()) {
        // maint stops the checks too: the operator is working on that server, and its failures would be noise.
        if (!backend.draining && backend.adminState !== 'maint') wanted.set(backend, upstream)
      }
    }

    for (const [backend, probe] of probes) {
      if (wanted.has(backend)) continue
      stop(probe)
      probes.delete(backend)
      // Still listed but no longer checked: nothing would ever bring it back, so it returns now.
      if (!backend.draining && backend.adminState !== 'maint' && !backend.healthy) {
        probe.upstream.backends.setHealthy(backend, true)
        log(probe, { from: 'unhealthy', to: 'healthy', reason: 'health check removed' })
      }
    }

    const fresh: Probe[] = []
    for (const [backend, upstream] of wanted) {
      const options = upstream.options.healthCheck as HealthCheckOptions
      const settings = JSON.stringify(options)
      const probe = probes.get(backend)
      if (probe === undefined) {
        const created: Probe = {
          upstream,
          backend,
          options,
          settings,
          // A server added at run time, or back from maint, starts unhealthy (BackendSet.setAdminState).
          state: new HealthState(options, backend.healthy ? 'healthy' : 'unhealthy'),
          timer: undefined,
          running: false,
          stopped: false,
          generation: 0
        }
        probes.set(backend, created)
        fresh.push(created)
      } else if (probe.settings !== settings) {
        // The verdict stays (a reload must not put a dead server back); only the streak restarts.
        probe.options = options
        probe.settings = settings
        probe.generation++
        probe.state.reconfigure(options)
        fresh.push(probe)
      }
    }

    // Server i of n first fires at i/n of its interval: n servers probed at the same
    // instant would make a burst on the event loop and on shared hosts every interval.
    fresh.forEach((probe, i) => {
      if (!probe.running) schedule(probe, Math.floor(i * probe.options.interval / fresh.length))
    })
  }

  function schedule (probe: Probe, delay: number): void {
    clearTimeout(probe.timer)
    // Unref'd: pending checks alone must not keep the process alive.
    probe.timer = setTimeout(() => { void run(probe) }, delay).unref()
  }

  // The next check is scheduled only once this one has finished, so checks of one server never overlap.
  async function run (probe: Probe): Promise<void> {
    probe.timer = undefined
    probe.running = true
    const { generation, options } = probe
    const started = Date.now()
    let result: CheckResult
    try {
      // The upstream's own TLS settings, so that a check passes exactly when traffic could.
      result = await checkers[options.type](probe.backend, options, probe.upstream.options.tls)
    } catch (err) {
      result = { ok: false, reason: failureReason(err) }
    }
    probe.running = false
    if (probe.stopped) return
    if (generation === probe.generation) apply(probe, result)
    // Measured from the start, so that a slow server is still probed once per interval.
    schedule(probe, Math.max(0, probe.options.interval - (Date.now() - started)))
  }

  function apply (probe: Probe, result: CheckResult): void {
    const transition = probe.state.record(result.ok, result.reason)
    if (transition === undefined) return
    // Through the set: it caches its ready lists, and starts the slow start of a server that is back.
    probe.upstream.backends.setHealthy(probe.backend, probe.state.healthy)
    probe.upstream.healthTransitions[transition.to]++
    log(probe, transition)
  }

  function tellOthers (probe: Probe, transition: HealthTransition): void {
    if (worker === undefined) return
    const msg: VerdictMessage = { upstream: probe.upstream.name, server: probe.backend.id, healthy: probe.backend.healthy, transition }
    worker.broadcast(HEALTH_TOPIC, msg, `${HEALTH_RETAIN}${msg.upstream}/${msg.server}`)
  }

  function log (probe: Probe, transition: HealthTransition): void {
    tellOthers(probe, transition)
    const entry = { upstream: probe.upstream.name, server: probe.backend.id, ...transition }
    if (transition.to === 'unhealthy') fastify.log.warn(entry, 'health state changed')
    else fastify.log.info(entry, 'health state changed')
  }

  function stop (probe: Probe): void {
    probe.stopped = true
    clearTimeout(probe.timer)
    probe.timer = undefined
  }

  const onUpdate = (upstreams: Upstream[]): void => sync(upstreams)

  fastify.addHook('onReady', async () => {
    sync(registry.all())
    registry.on('update', onUpdate)
  })

  fastify.addHook('onClose', async () => {
    registry.off('update', onUpdate)
    for (const probe of probes.values()) stop(probe)
    probes.clear()
    // destroy, not close: a probe still waiting on a slow server is of no use any more.
    await agent.destroy()
  })
}

/**
 * A worker that does not probe: it applies the probing worker's verdicts as they come (and,
 * once started, those in force: the primary retains the latest of each server).
 */
function followVerdicts (fastify: FastifyInstance, worker: WorkerChannel): void {
  worker.on(HEALTH_TOPIC, data => {
    const msg = data as VerdictMessage
    const upstream = fastify.gatehouse.registry.get(msg.upstream)
    const backend = upstream?.backends.all().find(b => b.id === msg.server)
    if (upstream === undefined || backend === undefined || backend.healthy === msg.healthy) return
    upstream.backends.setHealthy(backend, msg.healthy)
    upstream.healthTransitions[msg.transition.to]++
    const entry = { upstream: msg.upstream, server: msg.server, ...msg.transition, byWorker: PROBE_SLOT }
    if (msg.healthy) fastify.log.info(entry, 'health state changed')
    else fastify.log.warn(entry, 'health state changed')
  })
}

export default healthCheck
