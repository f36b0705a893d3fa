import createError from '@fastify/error'

// Every error Gatehouse raises, once, with a code and a status. The messages are what a
// client sees: they name the upstream group, never a backend's address or a stack.

export const ConfigError = createError('GH_CONFIG_INVALID', 'Invalid Gatehouse config:\n  %s', 500)

export const NoServerAvailableError = createError('GH_NO_SERVER_AVAILABLE', 'No server of upstream "%s" is available', 503)
export const BadGatewayError = createError('GH_BAD_GATEWAY', 'Upstream "%s" failed to answer', 502)
export const GatewayTimeoutError = createError('GH_GATEWAY_TIMEOUT', 'Upstream "%s" did not answer in time', 504)
export const ConnectTimeoutError = createError('GH_CONNECT_TIMEOUT', 'Upstream "%s" could not be reached in time', 504)
export const ShuttingDownError = createError('GH_SHUTTING_DOWN', 'Gatehouse is shutting down', 503)
export const BadRequestError = createError('GH_BAD_REQUEST', 'Bad request: %s', 400)
export const RateLimitedError = createError('GH_RATE_LIMITED', 'Rate limit exceeded, retry in %s', 429)
export const RateLimitUnavailableError = createError('GH_RATE_LIMIT_UNAVAILABLE', 'Rate limiting is unavailable, try again later', 503)

// Protocol errors answered before routing (plugins/strict-http.ts), and by the clientError handler.
export const NotImplementedError = createError('GH_NOT_IMPLEMENTED', 'Not implemented: %s', 501)
export const HeadersTooLargeError = createError('GH_HEADERS_TOO_LARGE', 'Request header fields too large', 431)
export const ClientTimeoutError = createError('GH_CLIENT_TIMEOUT', 'The request did not arrive in time', 408)
// Limits that hold against hostile or stalled clients (issue #7).
export const QueueTimeoutError = createError('GH_QUEUE_TIMEOUT', 'No connection to upstream "%s" became free in time', 503)
export const RECEIVE_TIMEOUT_CODE = 'GH_RECEIVE_TIMEOUT'
export const ReceiveTimeoutError = createError(RECEIVE_TIMEOUT_CODE, 'The request body stopped arriving', 408)
// TLS to the backends (issue 10): a server whose certificate fails verification, or a handshake it refused.
export const UpstreamTlsError = createError('GH_UPSTREAM_TLS', 'Upstream "%s" failed TLS verification', 502)
