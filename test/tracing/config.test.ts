import t from 'tap'
import Fastify from 'fastify'
import gatehouse from '../../app'
import { DEFAULT_TRACING_BATCH_DELAY, DEFAULT_TRACING_ENDPOINT, DEFAULT_TRACING_EXPORT_TIMEOUT, DEFAULT_TRACING_SAMPLE_RATIO, DEFAULT_TRACING_SERVICE_NAME, normalizeConfig, type GatehouseConfig } from '../../lib/config'
import { startBackend, startGateway } from '../helper'
import { readmeBlock } from '../readme'

function withTracing (tracing: unknown): GatehouseConfig {
  return {
    upstreams: { api: { servers: [{ url: 'http://127.0.0.1:9' }] } },
    routes: [{ match: { path: '/*' }, upstream: 'api' }],
    tracing: tracing as GatehouseConfig['tracing']
  }
}

/** The message the gateway refuses to start with. */
async function refusal (tracing: unknown): Promise<string> {
  const app = Fastify({ logger: false })
  try {
    await app.register(gatehouse, withTracing(tracing))
    await app.ready()
  } catch (err) {
    t.equal((err as { code?: string }).code, 'GH_CONFIG_INVALID')
    return (err as Error).message
  } finally {
    await app.close()
  }
  throw new Error('the gateway started')
}

t.test('a bad tracing config fails at start, naming the field', async t => {
  t.match(await refusal({ endpoint: 'collector:4318' }), /tracing\.endpoint: must be an http:\/\/ or https:\/\/ URL .*\(got "collector:4318"\)/)
  t.match(await refusal({ endpoint: 'grpc://collector:4317' }), /tracing\.endpoint: must be an http/)
  t.match(await refusal({ endpoint: '' }), /tracing\.endpoint: /)
  t.match(await refusal({ sampleRatio: 1.5 }), /tracing\.sampleRatio: must be <= 1/)
  t.match(await refusal({ sampleRatio: -0.1 }), /tracing\.sampleRatio: must be >= 0/)
  t.match(await refusal({ sampleRatio: '0.5' }), /tracing\.sampleRatio: must be number/)
  t.match(await refusal({ serviceName: '' }), /tracing\.serviceName: /)
  t.match(await refusal({ sampleRate: 0.5 }), /tracing\.sampleRate: unknown key/)
  t.match(await refusal({ headers: { 'bad name': 'x' } }), /tracing\.headers: "bad name" is not a header name/)
  t.match(await refusal({ headers: { 'x-key': 'a\r\nb' } }), /tracing\.headers\.x-key: a header value must not hold CR, LF or NUL/)
  t.match(await refusal({ batchDelay: '5 s' }), /tracing\.batchDelay: /)
  t.match(await refusal({ exportTimeout: 0 }), /tracing\.exportTimeout: must be between 1 ms/)
  t.match(await refusal(true), /tracing: must be object/)
})

t.test('an empty tracing object turns it on with the defaults of the OpenTelemetry environment variables', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startGateway(t, { ...withTracing({}), upstreams: { api: { servers: [{ url: b.url }] } } })
  t.same(gw.app.gatehouse.config.tracing, {
    endpoint: DEFAULT_TRACING_ENDPOINT,
    serviceName: DEFAULT_TRACING_SERVICE_NAME,
    sampleRatio: DEFAULT_TRACING_SAMPLE_RATIO,
    headers: {},
    batchDelay: DEFAULT_TRACING_BATCH_DELAY,
    exportTimeout: DEFAULT_TRACING_EXPORT_TIMEOUT
  })
  t.equal(DEFAULT_TRACING_ENDPOINT, 'http://localhost:4318/v1/traces', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT\'s default')
  t.equal(DEFAULT_TRACING_SAMPLE_RATIO, 1, 'parentbased_always_on')
  t.equal(DEFAULT_TRACING_BATCH_DELAY, 5000, 'OTEL_BSP_SCHEDULE_DELAY')
  t.equal(DEFAULT_TRACING_EXPORT_TIMEOUT, 10000, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT')
  t.equal(gw.app.gatehouse.config.tracing === undefined, false)
  const off = await startGateway(t, { upstreams: { api: { servers: [{ url: b.url }] } }, routes: [{ match: { path: '/*' }, upstream: 'api' }] })
  t.equal(off.app.gatehouse.config.tracing, undefined, 'off when the key is left out')
})

t.test('the README\'s tracing example is a valid config', async t => {
  const config = normalizeConfig(JSON.parse(readmeBlock('Tracing', 'json')), { env: {} })
  t.match(config.tracing, { endpoint: 'http://collector:4318/v1/traces', serviceName: 'edge-gateway', sampleRatio: 0.1, headers: { 'x-api-key': 'collector key' } })
})
