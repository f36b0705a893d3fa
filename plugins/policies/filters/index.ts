import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { ipFilter } from './ip'
import { methodsFilter } from './methods'
import { countedSize, declaredSize } from './body-size'
import { requiredHeadersFilter } from './required-headers'
import { basicAuthFilter } from './basic-auth'
import { requestHeaderRules, responseHeaderRules } from './headers'
import { redirectHandler } from './redirect'

/**
 * The request filters, header rules and redirects: each file makes the hook of one pipeline
 * step for the routes that use it. Where each runs, and in which order, is declared in
 * plugins/policies/pipeline.ts.
 */
async function filters (fastify: FastifyInstance, opts: { receiveTimeout: number }) {
  fastify.gatehousePipeline.provide({
    ip: ipFilter,
    methods: methodsFilter,
    'declared-size': declaredSize,
    'required-headers': requiredHeadersFilter,
    'basic-auth': basicAuthFilter,
    'counted-size': countedSize(opts.receiveTimeout),
    'request-headers': requestHeaderRules,
    'response-headers': responseHeaderRules,
    redirect: redirectHandler
  })
}

export default fp(filters, { fastify: '5.x', name: 'gatehouse-filters', dependencies: ['gatehouse-pipeline', 'gatehouse-request-state', 'gatehouse-error-handler', 'gatehouse-request-id'] })
