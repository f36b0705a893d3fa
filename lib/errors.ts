import createError from '@fastify/error'

// Every error Gatehouse raises, once, with a code and a status. The messages are what a
// client sees: they name the upstream group, never a backend's address or a stack.

export const ConfigError = createError('GH_CONFIG_INVALID', 'Invalid Gatehouse config:\n  %s', 500)

export const NoServerAvailableError = createError('GH_NO_SERVER_AVAILABLE', 'No server of upstream "%s" is available', 503)
export const BadGatewayError = createError('GH_BAD_GATEWAY', 'Upstream "%s" failed to answer', 502)
export const GatewayTimeoutError = createError('GH_GATEWAY_TIMEOUT', 'Upstream "%s" did not answer in time', 504)
/** A gRPC call's own deadline (its grpc-timeout) passed before the backend answered. */
export const DeadlineExceededError = createError('GH_DEADLINE_EXCEEDED', 'The call\'s deadline passed before upstream "%s" answered', 504)
export const ConnectTimeoutError = createError('GH_CONNECT_TIMEOUT', 'Upstream "%s" could not be reached in time', 504)
export const ShuttingDownError = createError('GH_SHUTTING_DOWN', 'Gatehouse is shutting down', 503)
export const BadRequestError = createError('GH_BAD_REQUEST', 'Bad request: %s', 400)
export const RateLimitedError = createError('GH_RATE_LIMITED', 'Rate limit exceeded, retry in %s', 429)
export const RateLimitUnavailableError = createError('GH_RATE_LIMIT_UNAVAILABLE', 'Rate limiting is unavailable, try again later', 503)

// Protocol errors answered before routing (plugins/edge/strict-http.ts), and by the clientError handler.
export const NotImplementedError = createError('GH_NOT_IMPLEMENTED', 'Not implemented: %s', 501)
export const HeadersTooLargeError = createError('GH_HEADERS_TOO_LARGE', 'Request header fields too large', 431)
export const ClientTimeoutError = createError('GH_CLIENT_TIMEOUT', 'The request did not arrive in time', 408)
// Limits that hold against hostile or stalled clients.
export const QueueTimeoutError = createError('GH_QUEUE_TIMEOUT', 'No connection to upstream "%s" became free in time', 503)
export const RECEIVE_TIMEOUT_CODE = 'GH_RECEIVE_TIMEOUT'
export const ReceiveTimeoutError = createError(RECEIVE_TIMEOUT_CODE, 'The request body stopped arriving', 408)
// An upload the client cut short (an HTTP/2 stream reset before END_STREAM, DATA that disagrees
// with content-length): a malformed request, never forwarded as complete (RFC 9113 §8.1.1).
export const CLIENT_ABORTED_CODE = 'GH_CLIENT_ABORTED'
export const ClientAbortedError = createError(CLIENT_ABORTED_CODE, 'The request body was cut short by the client', 400)

// Request filters: answered by Gatehouse, without touching a backend.
export const ForbiddenError = createError('GH_FORBIDDEN', 'The client address is not allowed on this route', 403)
export const MethodNotAllowedError = createError('GH_METHOD_NOT_ALLOWED', 'Method %s is not allowed on this route', 405)
export const BODY_TOO_LARGE_CODE = 'GH_BODY_TOO_LARGE'
export const BodyTooLargeError = createError(BODY_TOO_LARGE_CODE, 'The request body is larger than %s bytes', 413)
export const HeaderRequiredError = createError('GH_HEADER_REQUIRED', 'Header %s is required on this route', 401)
export const UnauthorizedError = createError('GH_UNAUTHORIZED', 'Authentication required', 401)
// The admin API. 401 says nothing about why: neither whether a token is set nor how close a guess was.
export const AdminUnauthorizedError = createError('GH_ADMIN_UNAUTHORIZED', 'Unauthorized', 401)
export const AdminReadOnlyError = createError('GH_ADMIN_READ_ONLY', 'The admin API is read-only: set admin.token (or GATEHOUSE_ADMIN_TOKEN) to change servers', 403)
export const AdminMisdirectedError = createError('GH_ADMIN_MISDIRECTED', 'This admin API does not answer for that Host; add it to admin.hosts', 421)
export const AdminTooManyAttemptsError = createError('GH_ADMIN_TOO_MANY_ATTEMPTS', 'Too many failed attempts from this address, retry in %s s', 429)
export const AdminBadRequestError = createError('GH_ADMIN_BAD_REQUEST', 'Invalid request: %s', 400)
export const UnknownUpstreamError = createError('GH_UNKNOWN_UPSTREAM', 'No upstream "%s"', 404)
export const UnknownServerError = createError('GH_UNKNOWN_SERVER', 'No server "%s" in upstream "%s"', 404)
export const ServerExistsError = createError('GH_SERVER_EXISTS', 'Upstream "%s" already has a server "%s"', 409)
export const LastPrimaryError = createError('GH_LAST_PRIMARY_SERVER', 'Upstream "%s" needs at least one server that is not a backup', 409)
// TLS to the backends: a server whose certificate fails verification, or a handshake it refused.
export const UpstreamTlsError = createError('GH_UPSTREAM_TLS', 'Upstream "%s" failed TLS verification', 502)
// Weighted splits between groups, changed through the admin API.
export const UnknownRouteError = createError('GH_UNKNOWN_ROUTE', 'No route %s', 404)
export const RouteNotSplitError = createError('GH_ROUTE_NOT_SPLIT', 'Route %s sends to one upstream: only a route whose upstream is a list has weights', 409)
