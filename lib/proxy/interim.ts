import type { Dispatcher } from 'undici'
import type { ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import { withoutHopByHop } from '../http/forward-headers'

type Interim = (info: { statusCode: number, headers: Record<string, string | string[] | undefined> }) => void

/**
 * A backend's interim (1xx) responses, passed on to the client before the final one, as nginx
 * passes 103 Early Hints (RFC 8297) and 102: undici's request() reports them through its
 * `onInfo` option, which reply-from does not set, so the relay travels beside the headers as
 * the request target does (reply-from copies symbol keys, undici never sends them). Never
 * stored: the cache only ever sees the final response.
 * 100 Continue is not relayed (Node answers the client's Expect itself), nor 101 (an upgrade
 * is a tunnel, plugins/proxy/websocket.ts).
 */
const kInterim = Symbol('gatehouse.interim')

type Carrier = Record<string | symbol, unknown>

export function carryInterim (headers: object, res: ServerResponse | Http2ServerResponse): void {
  (headers as Carrier)[kInterim] = relay(res)
}

/** Sets the carried relay as the request's undici `onInfo`. */
export function applyInterim (opts: Dispatcher.RequestOptions): void {
  const onInfo = (opts.headers as Carrier | null | undefined)?.[kInterim] as Interim | undefined
  if (onInfo !== undefined) (opts as Dispatcher.RequestOptions & { onInfo?: Interim }).onInfo = onInfo
}

function relay (res: ServerResponse | Http2ServerResponse): Interim {
  // RFC 9110 §15.2: never a 1xx to an HTTP/1.0 client (Node's writeEarlyHints does not check).
  const old = res.req?.httpVersion === '1.0'
  return ({ statusCode, headers }) => {
    if (old || res.headersSent || res.writableEnded) return
    if (statusCode === 103) {
      // writeEarlyHints sends only with a Link (the point of 103), over HTTP/1.1 and HTTP/2.
      const fields = withoutHopByHop(headers) as Record<string, string | string[]>
      if (fields.link !== undefined) res.writeEarlyHints(fields)
    } else if (statusCode === 102 && 'writeProcessing' in res) {
      res.writeProcessing()
    }
  }
}
