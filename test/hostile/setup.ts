import { startGateway } from '../helper'
import type { GatehouseConfig } from '../../lib/config'
import { startRecordingBackend, type RecordingBackend } from './raw'

type Test = Parameters<typeof startRecordingBackend>[0]

/** A recording backend behind the real gateway, with `/app/*` (stripPrefix "/app") and `/*` routed to it. */
export async function gatewayWithRecorder (t: Test, extra: Partial<GatehouseConfig> = {}): Promise<{ port: number, backend: RecordingBackend }> {
  const backend = await startRecordingBackend(t)
  const gw = await startGateway(t, {
    upstreams: { app: { servers: [{ url: backend.url }] } },
    routes: [
      { match: { host: 'only.example.com', path: '/only/*' }, upstream: 'app' },
      { match: { path: '/app/*' }, upstream: 'app', stripPrefix: '/app' },
      { match: { path: '/*' }, upstream: 'app' }
    ],
    ...extra
  } as GatehouseConfig)
  return { port: gw.port, backend }
}
