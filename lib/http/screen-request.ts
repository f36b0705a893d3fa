import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import { absoluteTarget, isValidHost, originTarget, TargetError } from './request-target'
import { BadRequestError, NotImplementedError } from '../errors'
import { HTTP_METHODS } from './methods'

const kStrict = Symbol.for('gatehouse.strictHttp')

// What `OPTIONS *` answers: every method a Gatehouse route may take.
const ALLOW = HTTP_METHODS.join(', ')

/** An HTTP/1.1 or HTTP/2 server, marked once it is screened. */
type StrictServer = object & { [kStrict]?: Refusals }
type RefusalLog = { info (obj: object, msg: string): void }

/**
 * Requests refused before routing, by code: one log line each (as the access log has for
 * routed ones; a hostile client's bytes are not copied into it) and a count for /metrics.
 */
export class Refusals {
  readonly counts = new Map<string, number>()

  constructor (private readonly log: RefusalLog) {}

  refused (status: number, code: string, reason: string): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1)
    this.log.info({ status, code, reason }, 'refused')
  }
}

/** The refusals counted on the server Gatehouse screens (undefined before plugins/edge/strict-http.ts ran). */
export function refusalsOf (server: object): Refusals | undefined {
  return (server as StrictServer)[kStrict]
}

/**
 * Marks `server` as screened, with its refusal counts; undefined when it already was (a server
 * is wrapped once however many times Gatehouse is registered on it).
 */
export function screenOnce (server: object, log: RefusalLog): Refusals | undefined {
  const strict = server as StrictServer
  if (strict[kStrict] !== undefined) return undefined
  const refusals = new Refusals(log)
  strict[kStrict] = refusals
  return refusals
}

/**
 * Checks one request before routing and normalises its target in place (req.url, and
 * req.headers.host for an absolute-form target or an HTTP/2 `:authority`). Returns false when
 * it answered the request itself: an error (with `Connection: close` over HTTP/1.1), or
 * `OPTIONS *`. HTTP/1.1 and HTTP/2 go through the same target checks: only where the Host
 * comes from and how a body is framed differ. Also used for upgrade requests, which Node
 * hands to 'upgrade' listeners instead (the WebSocket plugin screens those itself).
 */
export function screenRequest (req: IncomingMessage, res: ServerResponse, refusals: Refusals | undefined): boolean {
  const url = req.url ?? ''
  try {
    if (req.httpVersionMajor > 1) screenH2(req)
    else if (!screenH1(req, res, refusals)) return false
    let target: string
    const first = url.charCodeAt(0)
    if (first === 47 /* / */) {
      target = originTarget(url)
    } else if (url === '*') {
      // RFC 9110 §9.3.7: `OPTIONS *` asks about the server, not a resource; only OPTIONS may use it.
      if (req.method !== 'OPTIONS') throw new TargetError('asterisk-form is only for OPTIONS')
      res.writeHead(200, { allow: ALLOW, 'content-length': '0' }).end()
      return false
    } else if (req.httpVersionMajor > 1) {
      // RFC 9113 §8.3.1: `:path` is origin-form or `*`; the authority has its own field.
      throw new TargetError('`:path` must be origin-form')
    } else {
      // RFC 9112 §3.2.2: the target's authority replaces Host.
      const absolute = absoluteTarget(url)
      req.headers.host = absolute.host
      target = absolute.target
    }
    if (target !== url) req.url = target
    return true
  } catch (err) {
    if (!(err instanceof TargetError)) throw err
    answer(req, res, new BadRequestError(err.reason), refusals)
    return false
  }
}

/** The HTTP/1.1 checks before the target: Host, and Transfer-Encoding. False when answered. */
function screenH1 (req: IncomingMessage, res: ServerResponse, refusals: Refusals | undefined): boolean {
  checkHost(req)
  const te = req.headers['transfer-encoding']
  if (te !== undefined && te !== 'chunked' && te.toLowerCase() !== 'chunked') {
    // RFC 9112 §6.3: in a request whose final coding is not chunked, the body's length
    // cannot be known: 400 (MUST). Otherwise, §6.1: a coding the server does not
    // understand gets 501. Node's parser decodes `gzip, chunked` as chunked and would drop the gzip.
    if (te.slice(te.lastIndexOf(',') + 1).trim().toLowerCase() !== 'chunked') throw new TargetError('chunked must be the final transfer coding')
    answer(req, res, new NotImplementedError('transfer codings other than chunked'), refusals)
    return false
  }
  return true
}

/**
 * The HTTP/2 checks before the target. RFC 9113 §8.3.1: `:authority` is the host; an
 * intermediary that forwards to HTTP/1.1 MUST create Host from it, and a `host` field that
 * differs from it makes the request malformed (nginx answers 400). Set here, before routing,
 * so that host routes, preserveHost and x-forwarded-host see the host as over HTTP/1.1, and
 * held to the same rule for a valid Host.
 *
 * HTTP/2 has no Transfer-Encoding: a body without content-length is framed by DATA frames
 * up to END_STREAM, which is what a chunked body is over HTTP/1.1, and Fastify, the size
 * filter and the body parser know a body of unknown length by that header alone (without
 * it, Fastify reads a POST that has no content-type as having no body). So it is said here;
 * it is a hop-by-hop field and never forwarded (undici frames the body itself).
 */
function screenH2 (req: IncomingMessage): void {
  const headers = req.headers
  const authority = headers[':authority']
  const host = headers.host
  if (typeof authority === 'string') {
    if (host !== undefined && host !== authority) throw new TargetError('host differs from :authority')
    headers.host = authority
  }
  const value: unknown = headers.host
  if (value === undefined) throw new TargetError('no :authority or host')
  // A string unless sent twice, which Node's HTTP/2 server refuses today; checked, not assumed.
  if (typeof value !== 'string' || !isValidHost(value)) throw new TargetError('invalid Host header')
  const stream = (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream
  if (headers['content-length'] === undefined && stream?.endAfterHeaders === false) headers['transfer-encoding'] = 'chunked'
}

/**
 * RFC 9112 §3.2: a request with more than one Host line, or an invalid Host value, MUST get
 * 400. Node keeps the first Host silently, so the lines are counted in rawHeaders. An
 * absolute-form target's authority replaces the value later, but a second line still fails.
 */
function checkHost (req: IncomingMessage): void {
  const raw = req.rawHeaders
  let lines = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) lines++
  }
  if (lines > 1) throw new TargetError('more than one Host header')
  const host = req.headers.host
  if (host !== undefined && !isValidHost(host) && !isAbsoluteForm(req.url ?? '')) throw new TargetError('invalid Host header')
}

function isAbsoluteForm (url: string): boolean {
  return url.charCodeAt(0) !== 47 && url !== '*'
}

/** The gateway's JSON error shape, and the connection closed after it, as nginx does after a 400. */
function answer (req: IncomingMessage, res: ServerResponse, err: { statusCode?: number, code: string, message: string }, refusals: Refusals | undefined): void {
  const status = err.statusCode ?? 400
  refusals?.refused(status, err.code, err.message)
  const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status], code: err.code, message: err.message })
  const head: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }
  // HTTP/2 has no Connection field (RFC 9113 §8.2.2); the stream ends with the answer.
  if (req.httpVersionMajor < 2) head.connection = 'close'
  res.writeHead(status, head).end(body)
}
