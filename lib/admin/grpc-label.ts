// The 17 codes of grpc/doc/statuscodes.md, as their decimal strings.
const CODES = new Set(Array.from({ length: 17 }, (_, i) => String(i)))

/**
 * A grpc-status as a metric label: the code, or "invalid" for what a backend sent that is none
 * (empty, missing, out of range, not a number), so that a backend cannot make series without bound.
 */
export function grpcStatusLabel (status: string): string {
  return CODES.has(status) ? status : 'invalid'
}
