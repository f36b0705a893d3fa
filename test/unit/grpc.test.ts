import t from 'tap'
import { Readable } from 'node:stream'
import { Base64Decoder, GrpcWebEncoder, grpcWebMode, trailerFrame } from '../../lib/grpc/web'
import { failureCode, REFUSED_STREAM_CODE } from '../../lib/proxy/attempt-failure'

async function through (stream: NodeJS.ReadWriteStream, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = []
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => out.push(c))
    stream.on('end', resolve)
    stream.on('error', reject)
  })
  Readable.from(chunks).pipe(stream as NodeJS.WritableStream)
  await done
  return Buffer.concat(out)
}

t.test('grpcWebMode: the four content types, parameters and case; not gRPC-Web', async t => {
  t.same(grpcWebMode('application/grpc-web'), { text: false, grpcType: 'application/grpc', webType: 'application/grpc-web' })
  t.same(grpcWebMode('application/grpc-web+proto'), { text: false, grpcType: 'application/grpc+proto', webType: 'application/grpc-web+proto' })
  t.same(grpcWebMode('application/grpc-web-text'), { text: true, grpcType: 'application/grpc', webType: 'application/grpc-web-text' })
  t.same(grpcWebMode('Application/GRPC-Web-Text+proto; charset=utf-8'), { text: true, grpcType: 'application/grpc+proto', webType: 'application/grpc-web-text+proto' })
  for (const other of [undefined, 'application/grpc', 'application/grpc+proto', 'application/grpc-webx', 'application/grpc-web-texty', 'text/plain']) {
    t.equal(grpcWebMode(other), null, String(other))
  }
})

t.test('trailerFrame: flag 0x80, the length, `name: value\\r\\n` lines', async t => {
  const frame = trailerFrame({ 'grpc-status': '0', 'grpc-message': 'OK', 'X-Meta': ['a', 'b'], ':status': '200' })
  t.equal(frame[0], 0x80)
  const text = 'grpc-status: 0\r\ngrpc-message: OK\r\nx-meta: a\r\nx-meta: b\r\n'
  t.equal(frame.readUInt32BE(1), text.length)
  t.equal(frame.subarray(5).toString(), text)
})

t.test('Base64Decoder: split anywhere, padded runs back to back, whitespace; not base64 fails', async t => {
  const a = Buffer.from([0, 0, 0, 0, 1, 0x41])
  const b = Buffer.from([0, 0, 0, 0, 2, 0x42, 0x43])
  const text = a.toString('base64') + b.toString('base64') // two padded runs
  for (let cut = 0; cut <= text.length; cut++) {
    const decoded = await through(new Base64Decoder(), [Buffer.from(text.slice(0, cut)), Buffer.from(text.slice(cut))])
    if (!decoded.equals(Buffer.concat([a, b]))) t.fail(`cut at ${cut}`)
  }
  t.same(await through(new Base64Decoder(), [Buffer.from(' ' + a.toString('base64') + '\r\n')]), a)
  await t.rejects(through(new Base64Decoder(), [Buffer.from('!!!!')]), /not base64/)
  await t.rejects(through(new Base64Decoder(() => new Error('mine')), [Buffer.from('QUJ')]), /mine/, 'a body ending inside a group: the caller\'s error')
})

t.test('GrpcWebEncoder: frames as they come, then the trailer frame; -text as one base64 run', async t => {
  const frames = [Buffer.from([0, 0, 0, 0, 1, 0x61]), Buffer.from([0, 0, 0, 0, 2, 0x62, 0x63])]
  const trailers = { 'grpc-status': '0' }
  const binary = await through(new GrpcWebEncoder(false, () => trailers), frames)
  t.same(binary, Buffer.concat([...frames, trailerFrame(trailers)]))
  const text = await through(new GrpcWebEncoder(true, () => trailers), frames)
  t.equal(text.toString(), binary.toString('base64'), 'the same bytes, base64, whatever the chunking')
  t.same(await through(new GrpcWebEncoder(false, () => null), frames), Buffer.concat(frames), 'no trailer frame when there is none to send')
})

t.test('failureCode: an HTTP/2 refused stream, the cause first, else the code', async t => {
  const refused = Object.assign(new Error('Stream closed with error code NGHTTP2_REFUSED_STREAM'), { code: 'ERR_HTTP2_STREAM_ERROR' })
  t.equal(failureCode(refused), REFUSED_STREAM_CODE)
  const internal = Object.assign(new Error('Stream closed with error code NGHTTP2_INTERNAL_ERROR'), { code: 'ERR_HTTP2_STREAM_ERROR' })
  t.equal(failureCode(internal), 'ERR_HTTP2_STREAM_ERROR')
  t.equal(failureCode(Object.assign(new Error('x'), { code: 'A', cause: { code: 'ECONNREFUSED' } })), 'ECONNREFUSED')
  t.equal(failureCode(new Error('none')), '')
})
