import fp from 'fastify-plugin'
import type {
  FastifyInstance, onErrorHookHandler, onRequestAsyncHookHandler, onRequestHookHandler, onResponseHookHandler,
  onSendHookHandler, preHandlerAsyncHookHandler, preHandlerHookHandler, preParsingHookHandler, RouteHandlerMethod, RouteOptions
} from 'fastify'
import type { GatewayRoute, NormalizedConfig } from '../../lib/config'
import { routeCache } from '../../lib/config/normalize/cache'
import { routeCompress } from '../../lib/config/normalize/compress'
import { toArray } from '../../lib/to-array'
import { accessLogCountsBytes } from '../../lib/access-log/counts-bytes'

/** The hook of each phase a policy may add to a route; `handler` replaces the route's handler. */
export interface PhaseHooks {
  onRequest: onRequestHookHandler | onRequestAsyncHookHandler
  preParsing: preParsingHookHandler
  preHandler: preHandlerHookHandler | preHandlerAsyncHookHandler
  handler: RouteHandlerMethod
  onError: onErrorHookHandler
  onSend: onSendHookHandler
  onResponse: onResponseHookHandler
}
export type Phase = keyof PhaseHooks

export interface PipelineContext {
  /** The gateway's context: `gatehouse` (config, registry) and the error handler. */
  fastify: FastifyInstance
  /** The config the routes were declared from. */
  config: NormalizedConfig
}

/** A policy's part of a route: its hook for that route, or undefined when the route does not use it. */
export type HookFactory<P extends Phase> = (route: GatewayRoute, ctx: PipelineContext) => PhaseHooks[P] | undefined

interface Step {
  /** The plugin that provides the hook (under plugins/). */
  plugin: string
  /** When a route carries it, as the README says it. */
  when: string
  /** Whether a route (with the config it came from) carries this step's hook: the declaration the tests hold the factories to. */
  uses (route: GatewayRoute, config: NormalizedConfig): boolean
}

const hasUpstream = (route: GatewayRoute) => route.upstream !== undefined

/**
 * The one place that says which policy hooks a gateway route runs, in which phase, in which
 * order (as Pingora's ProxyHttp names every phase of a request in one trait). Phases are
 * Fastify's, in the order of its request lifecycle; within a phase, steps run top to bottom.
 * Each step's hook comes from the factory its plugin provides when registered, so a feature
 * loaded only when configured (rate limit, cache, compression) still has its slot here.
 *
 * The reasons for the order: the onRequest checks run before a byte of the body is read,
 * cheapest first; the rate limit after the checks that cost nothing and before basic auth, so
 * that password guessing is limited before it costs a bcrypt check each; a split's choice of
group before the sticky hint, which looks for a server in that group; the sticky hint and
 * the request header rules after every refusal; the cache lookup last before the handler, so
 * that a refused or limited request never reads the cache and a hit needs no server. The sticky
 * cookie is set before the response header rules run (they may remove it), and compression
 * comes last: the cache stored the plain answer, and the encoder is piped from the stream the
 * send timeout watches (plugins/edge/limits.ts).
 *
 * Hooks of the gateway's own that every request meets (request id, close-on-drain, the send
 * timeout) are context hooks and run before all of these; they are not per route.
 */
export const PIPELINE = {
  onRequest: {
    trace: { plugin: 'ops/tracing', when: '`tracing` at the top level (first, so that a refused request has its span too)', uses: (_r, c) => c.tracing !== undefined },
    'access-log-bytes': { plugin: 'ops/access-log', when: 'an access log format that logs the body bytes sent (`$body_bytes_sent`, as `combined` does)', uses: (r, c) => accessLogCountsBytes(c) },
    'grpc-web-request': { plugin: 'policies/grpc-web', when: '`grpcWeb: true`', uses: r => r.grpcWeb },
    ip: { plugin: 'policies/filters/ip', when: '`filters.allow` or `filters.deny`', uses: r => r.filters?.allow !== undefined || r.filters?.deny !== undefined },
    methods: { plugin: 'policies/filters/methods', when: '`filters.methods`', uses: r => r.filters?.methods !== undefined },
    'declared-size': { plugin: 'policies/filters/body-size', when: '`filters.maxBodySize`', uses: r => r.filters?.maxBodySize !== undefined },
    'required-headers': { plugin: 'policies/filters/required-headers', when: '`filters.requireHeaders`', uses: r => r.filters?.requireHeaders !== undefined },
    'rate-limit': { plugin: 'policies/rate-limit', when: 'its own `rateLimit`, or the top-level one unless `rateLimit: false`', uses: (r, c) => r.rateLimit !== false && (r.rateLimit !== undefined || c.rateLimit !== undefined) },
    'basic-auth': { plugin: 'policies/filters/basic-auth', when: '`filters.basicAuth`', uses: r => r.filters?.basicAuth !== undefined }
  },
  preParsing: {
    'counted-size': { plugin: 'policies/filters/body-size', when: '`filters.maxBodySize`', uses: r => r.filters?.maxBodySize !== undefined },
    'grpc-web-text': { plugin: 'policies/grpc-web', when: '`grpcWeb: true`', uses: r => r.grpcWeb }
  },
  preHandler: {
    split: { plugin: 'policies/split', when: '`upstream` as a list of weighted groups', uses: r => r.split !== undefined },
    'sticky-hint': { plugin: 'policies/sticky', when: 'an upstream (whether it is sticky is read per request, so a reload may turn it on)', uses: hasUpstream },
    'request-headers': { plugin: 'policies/filters/headers', when: '`requestHeaders`', uses: r => r.requestHeaders !== undefined },
    'cache-lookup': { plugin: 'policies/cache', when: 'an upstream and a cache in force', uses: (r, c) => r.upstream !== undefined && routeCache(c, r) !== undefined },
    mirror: { plugin: 'policies/mirror', when: '`mirror` with a `percent` above 0 (a copy of what goes to the backend)', uses: r => r.mirror !== undefined && r.mirror.percent > 0 }
  },
  handler: {
    redirect: { plugin: 'policies/filters/redirect', when: '`redirect` (answers in place of the proxy)', uses: r => r.redirect !== undefined }
  },
  onError: {
    'split-failed': { plugin: 'policies/split', when: '`upstream` as a list (no group cookie for the gateway\'s own errors)', uses: r => r.split !== undefined },
    'sticky-failed': { plugin: 'policies/sticky', when: 'an upstream (no cookie for the gateway\'s own errors)', uses: hasUpstream }
  },
  onSend: {
    'split-cookie': { plugin: 'policies/split', when: '`upstream` as a list', uses: r => r.split !== undefined },
    'grpc-web-response': { plugin: 'policies/grpc-web', when: '`grpcWeb: true`', uses: r => r.grpcWeb },
    'sticky-cookie': { plugin: 'policies/sticky', when: 'an upstream', uses: hasUpstream },
    'response-headers': { plugin: 'policies/filters/headers', when: '`responseHeaders`', uses: r => r.responseHeaders !== undefined },
    compress: { plugin: 'policies/compress', when: 'a compress in force', uses: (r, c) => routeCompress(c, r) !== undefined }
  },
  onResponse: {
    'access-log': { plugin: 'ops/access-log', when: 'every route', uses: () => true }
  }
} as const satisfies { [P in Phase]: Record<string, Step> }

export type StepName = { [P in Phase]: keyof typeof PIPELINE[P] }[Phase]
type PhaseOf<S extends StepName> = { [P in Phase]: S extends keyof typeof PIPELINE[P] ? P : never }[Phase]
export type Factories = { [S in StepName]?: HookFactory<PhaseOf<S>> }

export const PHASES = Object.keys(PIPELINE) as Phase[]

/** Each step in order: its phase and name. */
export function steps (): Array<{ phase: Phase, name: StepName, step: Step }> {
  return PHASES.flatMap(phase => Object.entries(PIPELINE[phase]).map(([name, step]) => ({ phase, name: name as StepName, step: step as Step })))
}

/** The steps a route carries by the declaration, per phase, in order. */
export function declaredFor (route: GatewayRoute, config: NormalizedConfig): Record<Phase, StepName[]> {
  const out = Object.fromEntries(PHASES.map(p => [p, []])) as unknown as Record<Phase, StepName[]>
  for (const { phase, name, step } of steps()) if (step.uses(route, config)) out[phase].push(name)
  return out
}

/** Which step placed a hook (or handler) on a route: what the tests compare with the declaration. */
const placed = new WeakMap<object, StepName>()
export function stepOf (hook: unknown): StepName | undefined {
  return typeof hook === 'function' ? placed.get(hook) : undefined
}

export interface Pipeline {
  /** Called by a policy plugin when it is registered, before the routes are declared. */
  provide (factories: Factories): void
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The route pipeline the policies provide their hook factories to. */
    gatehousePipeline: Pipeline
  }
}

/**
 * One onRoute hook for every policy: on each gateway route it calls the provided factories in
 * the declared order and hangs what they return, after whatever the route already has (a
 * host's own onRoute hooks, registered before Gatehouse, run first). Routes that use a policy
 * carry its hook; the others carry none, so they pay nothing for it.
 */
async function pipeline (fastify: FastifyInstance) {
  const factories = new Map<StepName, HookFactory<Phase>>()
  fastify.decorate('gatehousePipeline', {
    provide (given: Factories) {
      for (const [name, factory] of Object.entries(given)) {
        if (factories.has(name as StepName)) throw new Error(`the pipeline step ${name} is provided twice`)
        factories.set(name as StepName, factory as HookFactory<Phase>)
      }
    }
  })

  fastify.addHook('onRoute', routeOptions => {
    const route = routeOptions.config?.gatehouse
    if (route === undefined) return
    const ctx: PipelineContext = { fastify, config: fastify.gatehouse.config }
    for (const { phase, name, step } of steps()) {
      const factory = factories.get(name)
      if (factory === undefined) {
        // A step a route uses with no plugin to provide it would silently skip a policy.
        if (step.uses(route, ctx.config)) throw new Error(`routes[${route.index}] uses the pipeline step ${name}, which no registered plugin provides`)
        continue
      }
      const hook = factory(route, ctx)
      if (hook === undefined) continue
      placed.set(hook, name)
      const options = routeOptions as unknown as Record<Phase, unknown>
      options[phase] = phase === 'handler' ? hook : [...toArray(options[phase] as RouteOptions['onRequest']), hook]
    }
  })
}

export default fp(pipeline, { fastify: '5.x', name: 'gatehouse-pipeline', dependencies: ['gatehouse-upstreams'] })
