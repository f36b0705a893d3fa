import t from 'tap'
import { startBackend } from '../../helper'
import { rawRequest } from '../../hostile/raw'
import { startFilterGateway } from './support'

/** The Location header of a raw answer, or undefined. */
function location (text: string): string | undefined {
  return /\r\nlocation: *([^\r\n]*)/i.exec(text)?.[1]
}

/** Whether a Location, resolved as a browser does against the gateway's own URL, stays on it. */
function staysHome (value: string, home: string): boolean {
  return new URL(value, home).host === new URL(home).host
}

// A redirect template built from request parts must never send a client to another host:
// a path of `//evil.example` substituted at the start would make a scheme-relative URL.
t.test('a Location built from {path} never names another host', async t => {
  const b = await startBackend(t, 'b')
  const gw = await startFilterGateway(t, {
    upstreams: { api: { servers: [{ url: b.url }] } },
    routes: [
      { match: { path: '/named/*' }, redirect: { to: 'https://new.example.com{path}' } },
      { match: { path: '/*' }, redirect: { to: '{path}{query}', status: 301 } }
    ]
  })
  const home = 'http://gw.test/'
  for (const target of ['//evil.example', '//evil.example/x?y=1', '///evil', '/%2F/evil.example', '/\\evil', '/\\/evil', '//\\evil', '/./', '/a//b']) {
    const answer = await rawRequest(gw.port, `GET ${target} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`)
    const status = answer.statuses[0]
    if (status === 400) {
      t.pass(`${target}: refused`)
      continue
    }
    t.equal(status, 301, `${target}: redirected`)
    const to = location(answer.text)
    t.ok(to !== undefined && staysHome(to, home), `${target} → ${String(to)} stays on the gateway's host`)
    t.notOk(/^[/\\]{2}/.test(to ?? ''), `${target}: no scheme-relative start`)
  }
  const ok = await rawRequest(gw.port, 'GET /a/b?c=1 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n')
  t.equal(location(ok.text), '/a/b?c=1', 'an ordinary path is kept as it is')
  const named = await rawRequest(gw.port, 'GET /named//x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n')
  t.equal(location(named.text), 'https://new.example.com/named//x', 'a template that names its host keeps the path as it is')
})
