import t from 'tap'
import { rawRequest, request } from './raw'
import { gatewayWithRecorder } from './setup'

// Node joins a key header sent twice into "A, A"; it must count as "A", not as a fresh key,
// or repeating the header would be a way around the limit.

t.test('a rate-limit key header sent twice counts as its first value', async tt => {
  const { port, backend } = await gatewayWithRecorder(tt, { rateLimit: { key: 'header:appid', max: 2, timeWindow: 60_000 } })
  const once = await rawRequest(port, request('GET /x HTTP/1.1', ['Host: a.test', 'appid: A']))
  tt.same(once.statuses, [200])
  const twice = await rawRequest(port, request('GET /x HTTP/1.1', ['Host: a.test', 'AppId: A', 'appid: A']))
  tt.same(twice.statuses, [200], twice.text)
  tt.match(twice.text, /\r\nx-ratelimit-remaining: 0\r\n/i, 'the same counter as "A"')
  for (const headers of [['appid: A', 'appid: A'], ['appid: A', 'appid: B'], ['appid: A']]) {
    const over = await rawRequest(port, request('GET /x HTTP/1.1', ['Host: a.test', ...headers]))
    tt.same(over.statuses, [429], `${headers.join(' + ')} is over A's limit`)
  }
  tt.equal(backend.lines.length, 2)
})

t.test('a single value with a comma is still its own key', async tt => {
  const { port } = await gatewayWithRecorder(tt, { rateLimit: { key: 'header:appid', max: 1, timeWindow: 60_000 } })
  tt.same((await rawRequest(port, request('GET /x HTTP/1.1', ['Host: a.test', 'appid: A']))).statuses, [200])
  tt.same((await rawRequest(port, request('GET /x HTTP/1.1', ['Host: a.test', 'appid: A, B']))).statuses, [200], '"A, B" sent once is not "A"')
  tt.same((await rawRequest(port, request('GET /x HTTP/1.1', ['Host: a.test', 'appid: A, B', 'appid: C']))).statuses, [429], 'its first line is "A, B"')
})
