import { connect, type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2'
import type { Backend } from '../backend'
import type { HealthCheckOptions, UpstreamTls } from '../../config'
import { tlsConnectOptions } from '../../proxy/tls-connect'
import { failureReason, type CheckResult } from './checker'

// grpc.health.v1.HealthCheckResponse.ServingStatus
const SERVING = 1

/**
 * gRPC check: calls grpc.health.v1.Health/Check (the standard health protocol, which Envoy's
 * and Kubernetes' gRPC probes call) with `service` over HTTP/2 (TLS when the server's url is
 * https, else h2c), on a fresh connection per probe. Passes when the call ends with
 * grpc-status 0 and the answer's status is SERVING within `timeout`. The two messages are one
 * field each and encoded here by hand: HealthCheckRequest is field 1, the service name;
 * HealthCheckResponse field 1, the status enum.
 */
export async function grpcCheck (backend: Backend, options: HealthCheckOptions, tls?: UpstreamTls): Promise<CheckResult> {
  return await new Promise<CheckResult>(resolve => {
    let session: ClientHttp2Session | undefined
    let done = false
    const finish = (result: CheckResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      session?.destroy()
      resolve(result)
    }
    const timer = setTimeout(finish, options.timeout, { ok: false, reason: 'timeout' })
    const secure = backend.origin.startsWith('https:')
    const tlsOptions: SecureClientSessionOptions = secure
      ? { ...tlsConnectOptions(tls), ...(tls?.servername === undefined && backend.hostname !== undefined && { servername: backend.hostname }) } as SecureClientSessionOptions
      : {}
    try {
      session = connect(backend.origin, tlsOptions)
    } catch (err) {
      finish({ ok: false, reason: failureReason(err) })
      return
    }
    session.on('error', err => finish({ ok: false, reason: failureReason(err) }))
    const stream = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'gatehouse-health-check'
    })
    let grpcStatus: string | undefined
    const chunks: Buffer[] = []
    stream.on('response', headers => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status'])
      else if (headers[':status'] !== 200) finish({ ok: false, reason: `status ${String(headers[':status'])}` })
    })
    stream.on('trailers', trailers => { if (trailers['grpc-status'] !== undefined) grpcStatus = String(trailers['grpc-status']) })
    stream.on('data', (c: Buffer) => { if (chunks.length < 16) chunks.push(c) })
    stream.on('error', err => finish({ ok: false, reason: failureReason(err) }))
    stream.on('close', () => {
      if (grpcStatus !== '0') {
        finish({ ok: false, reason: grpcStatus === undefined ? 'no grpc-status' : `grpc-status ${grpcStatus}` })
        return
      }
      const status = servingStatus(Buffer.concat(chunks))
      finish({ ok: status === SERVING, reason: status === SERVING ? 'SERVING' : `serving status ${String(status ?? 'missing')}` })
    })
    stream.end(requestFrame(options.service))
  })
}

/** One gRPC message (uncompressed) of a HealthCheckRequest naming `service` ('' is the server as a whole). */
export function requestFrame (service: string): Buffer {
  const name = Buffer.from(service, 'utf8')
  const message = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name])
  const head = Buffer.alloc(5)
  head.writeUInt32BE(message.length, 1)
  return Buffer.concat([head, message])
}

/** The status field of the first HealthCheckResponse in a gRPC body; undefined when there is none (proto3 leaves out 0, UNKNOWN: that is 0). */
export function servingStatus (body: Buffer): number | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined
  const end = 5 + body.readUInt32BE(1)
  if (end > body.length) return undefined
  let i = 5
  while (i < end) {
    const [tag, afterTag] = readVarint(body, i)
    i = afterTag
    const wire = tag & 7
    if (wire === 0) {
      const [value, next] = readVarint(body, i)
      if (tag >>> 3 === 1) return value
      i = next
    } else if (wire === 2) {
      const [len, next] = readVarint(body, i)
      i = next + len
    } else if (wire === 1) i += 8
    else if (wire === 5) i += 4
    else return undefined
  }
  return 0
}

function varint (n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return Buffer.from(out)
}

function readVarint (b: Buffer, i: number): [number, number] {
  let value = 0
  let shift = 0
  while (i < b.length && shift < 35) {
    const byte = b[i++] as number
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) return [value, i]
    shift += 7
  }
  return [value, b.length + 1]
}
