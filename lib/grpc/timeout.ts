// gRPC over HTTP/2: TimeoutValue is 1 to 8 ASCII digits, then the unit.
const UNIT_MS: Record<string, number> = { H: 3600000, M: 60000, S: 1000, m: 1, u: 0.001, n: 0.000001 }

/** The milliseconds a `grpc-timeout` header allows, or undefined when it is absent or malformed (no deadline then, as gRPC servers read it). */
export function grpcTimeoutMs (value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^[0-9]{1,8}[HMSmun]$/.test(value)) return undefined
  return Number(value.slice(0, -1)) * (UNIT_MS[value[value.length - 1]] as number)
}
