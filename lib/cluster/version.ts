import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * The version in the package.json above this file, read from disk (not a cached require):
 * after an upgrade in place, a worker started from the new code reports the new version.
 */
export function installedVersion (from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'gatehouse') return pkg.version ?? 'unknown'
    } catch {}
    if (dirname(dir) === dir) return 'unknown'
  }
}
