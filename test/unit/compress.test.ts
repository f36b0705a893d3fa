import t from 'tap'
import { PassThrough } from 'node:stream'
import { compressibleType, encodable, looksEncoded, varyWithAcceptEncoding, weakEtag } from '../../lib/compress/decision'
import { readHead, type HeadResult } from '../../lib/http/stream-head'
import type { CompressSettings } from '../../lib/config'

const settings: CompressSettings = { threshold: 1024, encodings: ['br', 'gzip'] }
const fields = (headers: Record<string, string>) => (name: string) => headers[name]

t.test('encodable: status, size, coding, range, no-transform, type', async t => {
  const html = { 'content-type': 'text/html' }
  t.ok(encodable(200, fields(html), 5000, settings), '200 HTML over the threshold')
  t.ok(encodable(404, fields(html), undefined, settings), 'unknown size (chunked): encoded')
  t.ok(encodable(200, fields({ ...html, 'content-encoding': 'identity' }), 5000, settings), 'identity is no coding')
  t.notOk(encodable(200, fields(html), 1023, settings), 'under the threshold')
  t.ok(encodable(200, fields(html), 1024, settings), 'at the threshold')
  t.notOk(encodable(200, fields(html), 0, { ...settings, threshold: 0 }), 'an empty body, even with threshold 0')
  for (const status of [101, 204, 206, 304]) t.notOk(encodable(status, fields(html), 5000, settings), `status ${status}`)
  t.notOk(encodable(200, fields({ ...html, 'content-encoding': 'gzip' }), 5000, settings), 'already encoded')
  t.notOk(encodable(200, fields({ ...html, 'content-range': 'bytes 0-9/100' }), 5000, settings), 'a range')
  t.notOk(encodable(200, fields({ ...html, 'cache-control': 'max-age=5, No-Transform' }), 5000, settings), 'no-transform')
  t.ok(encodable(200, fields({ ...html, 'cache-control': 'no-transformer' }), 5000, settings), 'only the directive itself counts')
  t.notOk(encodable(200, fields({}), 5000, settings), 'no type')
})

t.test('compressibleType: built-in list, and a configured one', async t => {
  for (const type of ['text/html', 'text/plain; charset=utf-8', 'Application/JSON', 'application/vnd.api+json', 'application/xml', 'image/svg+xml', 'application/javascript', 'application/wasm']) {
    t.ok(compressibleType(type, undefined), type)
  }
  for (const type of ['image/png', 'image/jpeg', 'video/mp4', 'application/zip', 'application/gzip', 'application/octet-stream', 'text/event-stream', 'application/x-unknown']) {
    t.notOk(compressibleType(type, undefined), type)
  }
  const list = ['text/*', 'application/x-mine']
  t.ok(compressibleType('text/csv', list))
  t.ok(compressibleType('application/x-mine; v=1', list))
  t.notOk(compressibleType('application/json', list), 'a list replaces the built-in one')
  t.notOk(compressibleType('text/event-stream', list), 'never an event stream')
  t.notOk(compressibleType('textual/x', ['text/*']), 'text/* is not a prefix of textual/')
})

t.test('looksEncoded: what @fastify/compress would take for gzip or zlib', async t => {
  t.ok(looksEncoded(Buffer.from([0x1f, 0x8b, 0x08, 0])), 'a gzip member')
  t.ok(looksEncoded(Buffer.from([0x78, 0x9c])), 'a zlib header (level 6)')
  t.ok(looksEncoded(Buffer.from('80 items')), 'plain text that reads as a zlib header')
  t.ok(looksEncoded(Buffer.from('hb')), 'two bytes are enough for zlib')
  t.notOk(looksEncoded(Buffer.from('81 items')))
  t.notOk(looksEncoded(Buffer.from('<html>')))
  t.notOk(looksEncoded(Buffer.from([0x1f, 0x8b])), 'two bytes of gzip are not yet gzip')
  t.notOk(looksEncoded(Buffer.alloc(0)))
})

t.test('looksEncoded agrees with @fastify/compress\'s own checks on every first three bytes that matter', async t => {
  // Its internal helpers, read here only to hold ours to them (no exports map forbids it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const utils = require('@fastify/compress/lib/utils') as { isGzip (b: Buffer): boolean, isDeflate (b: Buffer): boolean }
  let disagree = 0
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      for (const head of [Buffer.from([a, b]), Buffer.from([a, b, 0x08]), Buffer.from([a, b, 0x09])]) {
        if (looksEncoded(head) !== (utils.isGzip(head) || utils.isDeflate(head))) disagree++
      }
    }
  }
  t.equal(disagree, 0)
})

t.test('varyWithAcceptEncoding and weakEtag', async t => {
  t.equal(varyWithAcceptEncoding(undefined), 'accept-encoding')
  t.equal(varyWithAcceptEncoding('Cookie'), 'Cookie, accept-encoding')
  t.equal(varyWithAcceptEncoding('cookie,ACCEPT-ENCODING'), 'cookie, ACCEPT-ENCODING')
  t.equal(varyWithAcceptEncoding(['Origin', 'Cookie']), 'Origin, Cookie, accept-encoding')
  t.equal(varyWithAcceptEncoding('*'), '*')
  t.equal(weakEtag('"a"'), 'W/"a"')
  t.equal(weakEtag('W/"a"'), 'W/"a"')
})

t.test('readHead: the first bytes, put back; a short stream whole; a failure', async t => {
  const next = (stream: PassThrough, bytes: number) => new Promise<HeadResult>(resolve => readHead(stream, bytes, resolve))

  const s = new PassThrough()
  s.write('a')
  setImmediate(() => s.write('bcdef'))
  const head = await next(s, 3)
  t.same('head' in head && [head.head.toString(), head.rest], ['abcdef', true])
  s.end('gh')
  let all = ''
  for await (const chunk of s) all += String(chunk)
  t.equal(all, 'abcdefgh', 'read whole, from its start')

  const short = new PassThrough()
  short.end('ab')
  const whole = await next(short, 3)
  t.same('head' in whole && [whole.head.toString(), whole.rest], ['ab', false])

  const broken = new PassThrough()
  setImmediate(() => broken.destroy(new Error('boom')))
  const failed = await next(broken, 3)
  t.match(failed, { error: { message: 'boom' } })
})
