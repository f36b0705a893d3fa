import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'

// Editors write a file in several steps (truncate, write, rename): one call after the last.
const DEBOUNCE_MS = 200

/**
 * `"watch": true` under workers: the primary watches the config file and reloads as on SIGHUP
 * (validated once, then applied by every worker, or the workers replaced when the routes
 * changed), instead of every worker watching and reloading on its own. The folder is watched,
 * as plugins/ops/watch.ts does, so that a save by rename is seen. Returns the stop function.
 */
export function watchFile (file: string, onChange: () => void): () => void {
  const name = basename(file)
  let timer: NodeJS.Timeout | undefined
  const watcher: FSWatcher = watch(dirname(file), (event, changed) => {
    if (changed !== null && changed !== name) return
    clearTimeout(timer)
    timer = setTimeout(onChange, DEBOUNCE_MS).unref()
  })
  watcher.unref()
  return () => { clearTimeout(timer); watcher.close() }
}
