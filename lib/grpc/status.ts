/** gRPC status codes (grpc/doc/statuscodes.md) that the gateway's own answers use. */
export const GRPC_STATUS = {
  INTERNAL: 13,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16
} as const

// Where the gateway knows why, the status says so; else the HTTP status is mapped as gRPC's
// own http-grpc-status-mapping does (and Envoy's grpc_http1_bridge).
const BY_CODE: Record<string, number> = {
  GH_GATEWAY_TIMEOUT: GRPC_STATUS.DEADLINE_EXCEEDED,
  GH_DEADLINE_EXCEEDED: GRPC_STATUS.DEADLINE_EXCEEDED,
  GH_CONNECT_TIMEOUT: GRPC_STATUS.UNAVAILABLE,
  GH_RATE_LIMITED: GRPC_STATUS.RESOURCE_EXHAUSTED,
  GH_BODY_TOO_LARGE: GRPC_STATUS.RESOURCE_EXHAUSTED,
  GH_INTERNAL: GRPC_STATUS.INTERNAL
}

const BY_HTTP: Record<number, number> = {
  400: GRPC_STATUS.INTERNAL,
  401: GRPC_STATUS.UNAUTHENTICATED,
  403: GRPC_STATUS.PERMISSION_DENIED,
  404: GRPC_STATUS.UNIMPLEMENTED,
  429: GRPC_STATUS.UNAVAILABLE,
  502: GRPC_STATUS.UNAVAILABLE,
  503: GRPC_STATUS.UNAVAILABLE,
  504: GRPC_STATUS.UNAVAILABLE
}

/** The gRPC status of an answer the gateway makes itself, from its error code and HTTP status. */
export function grpcStatusOf (code: string | undefined, httpStatus: number): number {
  return (code !== undefined ? BY_CODE[code] : undefined) ?? BY_HTTP[httpStatus] ?? GRPC_STATUS.UNKNOWN
}

/** grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself. */
export function encodeGrpcMessage (message: string): string {
  let out = ''
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}
