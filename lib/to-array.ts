/** A route option that may hold one hook or a list of them (or none), as a list. */
export function toArray<T> (value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}
